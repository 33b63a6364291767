"""The released architectures on a CPU: embedding with DNABERT-2, tokenizing with MxDNA.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.pretrained

Full-size models with random weights (the architecture decides the cost, not the
weights): DNABERT-2-117M (768 wide, 12 layers, 4,096 BPE tokens) embedding 500-bp
windows of human chr22 tokenized with DNABERT-2's own tokenizer (mean pooling, as
``DNABERT2Embedder``), and the released MxDNA (512 wide, 4 nucleotide + 16 token
layers, 10 experts) choosing the units of the same windows (``MxDNATokenizer``'s
``tokenize``: embedding, nucleotide layers and the learnt tokenization). Each with
dnatok's attention (``scaled_dot_product_attention``) and with the same modules
computing attention eagerly (``softmax(q k^T / sqrt(d) + mask) v``, as the authors'
PyTorch fallbacks do), interleaved in one run, 2 torch threads, batch 16.

Rewrites the "pretrained" section of RESULTS.md.
"""

import contextlib
import statistics
import time

import torch
import torch.nn.functional as F

from benchmarks._report import SHARED_DATA, write_section
from dnatok import BPETokenizer, CharTokenizer, genome_windows, read_fasta
from dnatok.nn import DNABERT2Model, MxDNAEncoder

BATCH, LENGTH, N_SEQUENCES, ROUNDS = 16, 500, 64, 3


def eager_attention(q, k, v, attn_mask=None, dropout_p=0.0, **kwargs):
    """The textbook computation that ``scaled_dot_product_attention`` fuses."""
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    return scores.softmax(-1) @ v


@contextlib.contextmanager
def attention(kind):
    fused = F.scaled_dot_product_attention
    if kind == "eager":
        F.scaled_dot_product_attention = eager_attention
    try:
        yield
    finally:
        F.scaled_dot_product_attention = fused


def windows():
    genome = read_fasta(SHARED_DATA / "genomes" / "human_hg19_chr22_blocks.fa.gz")
    return genome_windows(genome, length=LENGTH, max_n_fraction=0, uppercase=True)[:N_SEQUENCES]


def throughput(run, batches):
    """Sequences per second of ``run`` over all batches (best of ``ROUNDS`` passes)."""
    seconds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for batch in batches:
            run(batch)
        seconds.append(time.perf_counter() - start)
    return N_SEQUENCES / min(seconds), statistics.median(seconds)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    sequences = windows()
    # DNABERT-2: its real tokenizer (the shared fixture holds the hub's tokenizer.json)
    bpe = BPETokenizer(pretrained=SHARED_DATA / "dnabert2_reference").fit(sequences)
    bpe_tokens = bpe.transform(sequences)
    dnabert2 = DNABERT2Model(vocab_size=bpe.get_vocab_size(), pooling="mean").eval()
    char_tokens = CharTokenizer().transform(sequences)
    mxdna = MxDNAEncoder(d_model=512, n_heads=16, d_ff=2048, n_nucleotide_layers=4, n_token_layers=16,
                         n_experts=10, conv_kernel_size=0).eval()

    def batches(tokens):
        ids, mask = torch.as_tensor(tokens["input_ids"]), torch.as_tensor(tokens["attention_mask"])
        return [(ids[i : i + BATCH], mask[i : i + BATCH]) for i in range(0, N_SEQUENCES, BATCH)]

    jobs = {
        "DNABERT-2-117M, embed (mean pooling)": (lambda b: dnabert2(*b), batches(bpe_tokens)),
        "MxDNA (released size), choose units": (lambda b: mxdna.tokenize(*b), batches(char_tokens)),
    }
    results = {}
    with torch.no_grad():
        for name, (run, data) in jobs.items():
            run(data[0])  # warm-up
            for kind in ("sdpa", "eager", "sdpa", "eager"):  # interleaved; keep the best
                with attention(kind):
                    rate, _ = throughput(run, data)
                results[name, kind] = max(rate, results.get((name, kind), 0.0))
    n_parameters = {
        "DNABERT-2-117M, embed (mean pooling)": sum(p.numel() for p in dnabert2.parameters()),
        "MxDNA (released size), choose units": sum(p.numel() for p in mxdna.parameters()),
    }
    width = {"DNABERT-2-117M, embed (mean pooling)": bpe_tokens["input_ids"].shape[1],
             "MxDNA (released size), choose units": char_tokens["input_ids"].shape[1]}
    lines = [
        f"{N_SEQUENCES} windows of {LENGTH} bp of human chr22 (no N), batch {BATCH}, random weights at the "
        f"released sizes, inference (`torch.no_grad`), 2 torch threads; best of {ROUNDS * 2} passes, SDPA "
        f"and eager passes interleaved.",
        "",
        "| model | parameters | tokens per row | sequences/s (SDPA) | sequences/s (eager attention) | SDPA / eager |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in jobs:
        sdpa, eager = results[name, "sdpa"], results[name, "eager"]
        lines.append(f"| {name} | {n_parameters[name] / 1e6:.1f} M | {width[name]} | {sdpa:.2f} | {eager:.2f} | "
                     f"{sdpa / eager:.2f}x |")
    write_section("pretrained", "## Released architectures on a CPU\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
