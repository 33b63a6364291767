"""MxDNA's expert mixture and the optimizer step: the current way against the earlier one.

Run from the repository root, with nothing else busy on the machine:

    python benchmarks/mxdna_experts.py

Two changes of 2026-12-05, each timed against the code it replaced, interleaved in
one run, median of 10 steps, 2 torch threads, MxDNATokenizer's default size:

- the sparse mixture of convolution experts (``LearntTokenization.mix_experts``),
  forward + backward on the units the router picks, batch 32. Reference: one
  gather of nucleotides and one of probabilities per expert, each expert's
  kernel = stride = k convolution as a grouped strided ``conv1d`` (the earlier
  code, kept below). Current: one gather for all experts, the convolution as one
  batched matmul per group. Same weights, same values.
- the AdamW step over every parameter of an MxDNA classifier: ``fused=True``
  (what ``TrainingNet`` now picks for Adam and AdamW) against the per-tensor loop
  (``foreach=False``, the CPU default before).

Rewrites the "mxdna-experts" section of RESULTS.md.
"""

import sys
from pathlib import Path

# benchmarks/tokenizers.py would shadow the HF `tokenizers` package: take this
# folder off the import path and reach the helpers through the repository root
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE.parent)]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from benchmarks._report import median_times, write_section  # noqa: E402
from benchmarks.mxdna import default_size  # noqa: E402
from dnatok import MxDNATokenizer  # noqa: E402
from dnatok.nn import LearntTokenization, MxDNAClassificationModel  # noqa: E402
from dnatok.nn._mxdna_selection import select_basic_units  # noqa: E402


def per_expert_mixture(tokenization, h, covering_expert, probabilities):
    """The earlier ``mix_experts``: a gather and a grouped conv1d per expert."""
    B, length, d = h.shape
    n = tokenization.n_experts
    expert_key = torch.where(covering_expert >= 0, covering_expert, n).reshape(-1)  # (B*l,)
    order = torch.sort(expert_key, stable=True).indices
    sizes = torch.bincount(expert_key, minlength=n + 1)[:n].tolist()
    flat_h, flat_probabilities = h.reshape(B * length, d), probabilities.reshape(B * length, n)
    centres, vectors, start = [], [], 0
    for j, (expert, size) in enumerate(zip(tokenization.experts, sizes)):
        if size == 0:
            continue
        rows = order[start : start + size]  # (N*k,)
        start += size
        k = j + 1
        centre_rows = rows.view(-1, k)[:, k // 2]  # (N,)
        units = F.glu(expert.expand(flat_h.index_select(0, rows)), dim=-1)  # (N*k, d)
        units = expert.conv(units.T[None])[0].T  # (N, d)
        unit_vectors = expert.project(F.silu(expert.norm(units)))  # (N, d)
        scale = tokenization.expert_gain * flat_probabilities.index_select(0, centre_rows)[:, j : j + 1]  # (N, 1)
        centres.append(centre_rows)
        vectors.append(unit_vectors * scale)
    vectors = torch.cat(vectors)
    return vectors.new_zeros(B * length, d).index_copy(0, torch.cat(centres), vectors).view(B, length, d)


def current_mixture(tokenization, h, covering_expert, probabilities):
    return tokenization.mix_experts(h, covering_expert, probabilities)


def mixture_row(length, batch=32):
    tokenizer = MxDNATokenizer()
    torch.manual_seed(0)
    tokenization = LearntTokenization(tokenizer.d_model, tokenizer.n_experts)
    x = torch.randn(batch, length + 2, tokenizer.d_model)  # (B, l, d): [CLS] x1 .. xL [SEP]
    special = torch.zeros(batch, length + 2, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    with torch.no_grad():
        h = tokenization.norm(x)
        scores = tokenization.route(h, special)
    units = select_basic_units(scores, ~special)
    h = h.requires_grad_()
    probabilities = scores.softmax(-1).requires_grad_()
    ways = {"per expert": per_expert_mixture, "current": current_mixture}
    with torch.no_grad():
        difference = (current_mixture(tokenization, h, units.covering_expert, probabilities)
                      - per_expert_mixture(tokenization, h, units.covering_expert, probabilities)).abs().max()

    def step(way):
        way(tokenization, h, units.covering_expert, probabilities).square().mean().backward()

    times = median_times(ways, step)
    return (f"| {length} | {times['per expert'] * 1000:.1f} | {times['current'] * 1000:.1f} | "
            f"{times['per expert'] / times['current']:.2f}x | {float(difference):.1e} |")


def optimizer_row():
    torch.manual_seed(0)
    module = MxDNAClassificationModel(n_classes=2, **default_size())
    parameters = [p for p in module.parameters() if p.requires_grad]
    for p in parameters:
        p.grad = torch.randn_like(p) * 1e-3
    ways = {"foreach=False": torch.optim.AdamW(parameters, lr=1e-4, foreach=False),
            "fused": torch.optim.AdamW(parameters, lr=1e-4, fused=True)}
    times = median_times(ways, lambda optimizer: optimizer.step(), repeats=20)
    return (f"| AdamW step, {len(parameters)} tensors, {sum(p.numel() for p in parameters):,} values | "
            f"{times['foreach=False'] * 1000:.1f} | {times['fused'] * 1000:.1f} | "
            f"{times['foreach=False'] / times['fused']:.2f}x |")


def main():
    torch.set_num_threads(2)
    mixture = [mixture_row(length) for length in (70, 101, 300)]
    body = "\n".join([
        "## MxDNA: the expert mixture and the optimizer step",
        "",
        "Forward + backward of the sparse mixture of convolution experts "
        "(`LearntTokenization.mix_experts`) on the units the untrained router picks, "
        "MxDNATokenizer's default size, batch 32, 2 torch threads, median of 10 interleaved "
        "steps. Reference: the code before 2026-12-05, a gather of nucleotides and one of "
        "probabilities per expert and each expert's convolution as a grouped strided `conv1d`; "
        "current: one gather for all experts, the convolution as a batched matmul per group.",
        "",
        "| sequence length (nt) | per expert (ms) | current (ms) | speed-up | largest difference |",
        "| ---: | ---: | ---: | ---: | ---: |",
        *mixture,
        "",
        "The optimizer step over every parameter of an MxDNA classifier of that size "
        "(median of 20 interleaved steps): the per-tensor loop, the CPU default before, "
        "against `fused=True`, which `TrainingNet` now picks for Adam and AdamW unless "
        "`optimizer__fused` or `optimizer__foreach` is given.",
        "",
        "| step | foreach=False (ms) | fused (ms) | speed-up |",
        "| --- | ---: | ---: | ---: |",
        optimizer_row(),
    ])
    write_section("mxdna-experts", body)


if __name__ == "__main__":
    main()
