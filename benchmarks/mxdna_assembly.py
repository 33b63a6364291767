"""MxDNA's deformable assembly: computed at the tokens only, against the whole grid.

Run from the repository root, with nothing else busy on the machine:

    python benchmarks/mxdna_assembly.py

The token layers read the assembly's output only at the tokens (about one
nucleotide in five), so the encoder asks ``LearntTokenization`` for those rows
(``gather_tokens=True``) and the assembly samples only there. The reference is the
earlier way: the assembly over every grid position, the token rows gathered
afterwards. Both give the same values; this times forward + backward of the
learnt tokenization at MxDNATokenizer's default size, batch 32, interleaved in one
run, median of 10 steps, at the GUE task lengths and at 512 nt.

Rewrites the "mxdna-assembly" section of RESULTS.md.
"""

import sys
from pathlib import Path

# benchmarks/tokenizers.py would shadow the HF `tokenizers` package: take this
# folder off the import path and reach the helpers through the repository root
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE.parent)]

import torch  # noqa: E402

from benchmarks._report import median_times, write_section  # noqa: E402
from dnatok import MxDNATokenizer  # noqa: E402
from dnatok.nn import LearntTokenization  # noqa: E402


def at_tokens(tokenization, x, mask, special):
    return tokenization(x, mask, special, gather_tokens=True).hidden  # (B, T, d)


def whole_grid(tokenization, x, mask, special):
    out = tokenization(x, mask, special)  # hidden (B, l, d)
    index = out.token_positions[..., None].expand(-1, -1, out.hidden.shape[-1])
    return out.hidden.gather(1, index)  # (B, T, d)


def step_times(length, batch=32, repeats=10):
    """Median seconds of forward + backward for each way, and the largest difference."""
    tokenizer = MxDNATokenizer()
    torch.manual_seed(0)
    tokenization = LearntTokenization(tokenizer.d_model, tokenizer.n_experts)
    x = torch.randn(batch, length + 2, tokenizer.d_model, requires_grad=True)  # (B, l, d)
    mask = torch.ones(batch, length + 2, dtype=torch.bool)
    special = torch.zeros_like(mask)
    special[:, 0] = special[:, -1] = True  # [CLS] x1 .. xL [SEP]
    ways = {"at tokens": at_tokens, "whole grid": whole_grid}
    tokenization.eval()  # no router jitter: both ways then choose the same units
    with torch.no_grad():
        difference = (at_tokens(tokenization, x, mask, special) - whole_grid(tokenization, x, mask, special)).abs().max()
    tokenization.train()
    times = median_times(ways, lambda way: way(tokenization, x, mask, special).square().mean().backward(), repeats)
    return times, float(difference)


def main():
    torch.set_num_threads(2)
    rows = []
    for length in (70, 101, 300, 512):
        times, difference = step_times(length)
        rows.append(
            f"| {length} | {times['whole grid'] * 1000:.1f} | {times['at tokens'] * 1000:.1f} | "
            f"{times['whole grid'] / times['at tokens']:.2f}x | {difference:.1e} |"
        )
    body = "\n".join([
        "## MxDNA: the deformable assembly at the tokens only",
        "",
        "Forward + backward of `LearntTokenization` (experts, selection, assembly) at "
        "MxDNATokenizer's default size, batch 32, 2 torch threads, median of 10 interleaved "
        "steps. Reference: the assembly over the whole grid, the token rows gathered "
        "afterwards (the encoder's way before 2026-12-05).",
        "",
        "| sequence length (nt) | whole grid (ms) | at tokens (ms) | speed-up | largest difference |",
        "| ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ])
    write_section("mxdna-assembly", body)


if __name__ == "__main__":
    main()
