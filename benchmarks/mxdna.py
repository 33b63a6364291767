"""MxDNA: training-step cost against a plain transformer, and what pretraining learns.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.mxdna [--budget 1200]

1. Step time (forward + backward + AdamW) of the MxDNA masked-LM at
   MxDNATokenizer's default size against the single-nucleotide transformer of the
   same width and depth (``MaskedLMModel``, nucleotide + token layers), at 512 nt
   and batch 16, interleaved in one run; and the time of the unit selection alone
   on the same batch, as a share of the MxDNA step.
2. Pretraining: MxDNATokenizer trained for ``--budget`` seconds on 256-nt windows
   of the three genomes in ../shared/data/genomes; on held-out windows, the mean
   unit length (before and after training), and masked-LM accuracy beside two
   baselines counted on the training windows: the most frequent base, and a
   context table that predicts each masked base from its two neighbours on each
   side. Writes the unit-length figure to benchmarks/mxdna_unit_lengths.png.

Rewrites the "mxdna" section of RESULTS.md.
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._report import SHARED_DATA, write_section
from dnatok import CharTokenizer, MxDNATokenizer, genome_windows, read_fasta
from dnatok.nn import MaskedLMModel, MxDNAMaskedLM
from dnatok.nn._mxdna_selection import select_basic_units
from dnatok.training._masking import mask_tokens

FIGURE = Path(__file__).with_name("mxdna_unit_lengths.png")
SPECIALS = [0, 1, 2, 3, 4]


def default_size():
    """The sizes of MxDNATokenizer's default network (its pretrainer's module)."""
    params = MxDNATokenizer().get_params(deep=True)
    config = MxDNAMaskedLM(**{key.removeprefix("pretrainer__module__"): value for key, value in params.items()
                              if key.startswith("pretrainer__module__")}).encoder_config
    return {name: config[name] for name in ("d_model", "n_heads", "n_experts", "n_nucleotide_layers", "n_token_layers")}


def step_times(size, length=512, batch=16, repeats=8):
    """Median seconds of a training step: MxDNA, the plain transformer, and selection."""
    torch.manual_seed(0)
    ids = torch.randint(5, 9, (batch, length))
    ids[:, 0], ids[:, -1] = 2, 3
    mask = torch.ones_like(ids, dtype=torch.bool)
    masked, labels = mask_tokens(ids, mask, SPECIALS, 4, 9, torch.Generator().manual_seed(0))
    mxdna = MxDNAMaskedLM(**size)
    plain = MaskedLMModel(
        vocab_size=9, d_model=size["d_model"], n_heads=size["n_heads"], dropout=0.0,
        n_layers=size["n_nucleotide_layers"] + size["n_token_layers"],
    )

    def step(model, optimizer):
        output = model(masked, mask)
        logits, aux = output if isinstance(output, tuple) else (output, 0.0)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100) + 0.01 * aux
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    optimizers = {name: torch.optim.AdamW(model.parameters()) for name, model in [("mxdna", mxdna), ("plain", plain)]}
    models = {"mxdna": mxdna, "plain": plain}
    times = {"mxdna": [], "plain": [], "selection": []}
    # router scores of this batch, for timing the selection on its own
    with torch.no_grad():
        encoder = mxdna.encoder
        x = encoder.embedding(masked)
        positions = torch.arange(length).expand(batch, length)
        for block in encoder.nucleotide_layers:
            x = block(x, positions, mask)
        special = (masked == 2) | (masked == 3)
        scores = encoder.tokenization.route(encoder.tokenization.norm(x), special)
    for name in models:
        step(models[name], optimizers[name])  # warm-up
    for _ in range(repeats):
        for name in ("mxdna", "plain"):
            start = time.perf_counter()
            step(models[name], optimizers[name])
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        select_basic_units(scores, mask & ~special)
        times["selection"].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def load_windows(length=256):
    windows = []
    for name in ("ecoli_K12_MG1655", "yeast_S288C_chrI_chrII", "human_hg19_chr22_blocks"):
        records = read_fasta(SHARED_DATA / "genomes" / f"{name}.fa.gz")
        windows += genome_windows(records, length=length, max_n_fraction=0.0, uppercase=True)
    order = np.random.default_rng(0).permutation(len(windows))
    return [windows[i] for i in order]


def masked_accuracy(tokenizer, windows, seed=1):
    """Masked-LM accuracy on fixed masks, with the two baselines' accuracy."""
    tokens = CharTokenizer().transform(windows)
    ids = torch.as_tensor(tokens["input_ids"]).long()
    mask = torch.as_tensor(tokens["attention_mask"])
    masked, labels = mask_tokens(ids, mask, SPECIALS, 4, 9, torch.Generator().manual_seed(seed))
    predictions = []
    with torch.no_grad():
        for first in range(0, len(ids), 64):
            logits, _ = tokenizer.model_(masked[first:first + 64], mask[first:first + 64])
            predictions.append(logits.argmax(-1))
    chosen = labels != -100
    return float((torch.cat(predictions)[chosen] == labels[chosen]).float().mean()), ids, chosen, labels


def baselines(train_windows, ids, chosen, labels):
    """Most frequent base, and the most frequent centre base of each 2+2 context."""
    train = CharTokenizer(add_special_tokens=False).transform(train_windows)["input_ids"].astype(np.int64) - 5
    most_frequent = np.bincount(train.ravel(), minlength=4).argmax() + 5
    # context code of (left2, left1, right1, right2) -> counts of the centre base
    context = (train[:, :-4] * 64 + train[:, 1:-3] * 16 + train[:, 3:-1] * 4 + train[:, 4:])
    table = np.zeros((256, 4), dtype=np.int64)
    np.add.at(table, (context.ravel(), train[:, 2:-2].ravel()), 1)
    best_centre = table.argmax(axis=1) + 5
    rows, cols = np.nonzero(chosen.numpy())
    truth = labels.numpy()[rows, cols]
    bases = ids.numpy() - 5
    inside = (cols >= 3) & (cols <= bases.shape[1] - 4)  # two real neighbours each side
    rows, cols, truth, inside = rows[inside], cols[inside], truth[inside], inside[inside]
    code = (bases[rows, cols - 2] * 64 + bases[rows, cols - 1] * 16 + bases[rows, cols + 1] * 4 + bases[rows, cols + 2])
    context_prediction = best_centre[code]
    # both baselines on the masked positions with two bases each side (all but ~1%)
    return float((truth == most_frequent).mean()), float((truth == context_prediction).mean())


def _epochs(history):
    done = sum(not epoch["stopped_early"] for epoch in history)
    if history and history[-1]["stopped_early"]:
        return f"{done} full epoch(s), the budget ran out during epoch {history[-1]['epoch']}"
    return f"{done} full epoch(s)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1200.0, help="seconds of pretraining")
    parser.add_argument("--held-out", type=int, default=1000, help="evaluation windows")
    args = parser.parse_args()

    size = default_size()
    timing = step_times(size)
    lines = [
        "## MxDNA",
        "",
        f"Training step (forward + backward + AdamW), 512 nt, batch 16, MxDNATokenizer's default "
        f"size ({', '.join(f'{k} {v}' for k, v in size.items())}), {torch.get_num_threads()} torch "
        f"threads, median of 8 interleaved steps:",
        "",
        "| model | step (s) | ratio |",
        "| --- | ---: | ---: |",
        f"| MxDNA masked LM | {timing['mxdna']:.3f} | {timing['mxdna'] / timing['plain']:.2f}x |",
        f"| single-nucleotide transformer, {size['n_nucleotide_layers'] + size['n_token_layers']} layers | {timing['plain']:.3f} | 1.00x |",
        f"| unit selection alone | {timing['selection']:.4f} | {timing['selection'] / timing['mxdna']:.1%} of the MxDNA step |",
    ]
    print("\n".join(lines), flush=True)

    windows = load_windows()
    held_out, train = windows[: args.held_out], windows[args.held_out:]
    untrained = MxDNATokenizer().set_params(pretrainer__max_epochs=0, pretrainer__random_state=0).fit(held_out[:200])
    before = untrained.tokenization_stats(held_out)["nucleotides_per_token"]
    start = time.perf_counter()
    tokenizer = MxDNATokenizer().set_params(pretrainer__max_epochs=1000, pretrainer__max_time=args.budget,
                                            pretrainer__batch_size=32, pretrainer__lr=1e-3, pretrainer__random_state=0)
    tokenizer.fit(train)
    seconds = time.perf_counter() - start
    stats = tokenizer.tokenization_stats(held_out)
    accuracy, ids, chosen, labels = masked_accuracy(tokenizer, held_out)
    frequent, context = baselines(train[:20000], ids, chosen, labels)

    import matplotlib

    matplotlib.use("Agg")
    ax = tokenizer.plot_unit_lengths(held_out)
    ax.set_title("Token lengths on held-out genome windows")
    ax.figure.tight_layout()
    ax.figure.savefig(FIGURE, dpi=100)

    distribution = " ".join(f"{share:.2f}" for share in stats["unit_length_distribution"])
    lines += [
        "",
        f"Pretraining: MxDNATokenizer (default size) for {args.budget:.0f} s on {len(train):,} windows of "
        f"256 nt from E. coli, yeast chrI-II and human chr22 (no N), batch 32; "
        f"{_epochs(tokenizer.history_)}, final training loss {tokenizer.history_[-1]['loss']:.3f}. "
        f"Evaluated on {len(held_out):,} held-out windows:",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| mean unit length before training (random routing) | {before:.2f} nt |",
        f"| mean unit length after training (compression) | {stats['nucleotides_per_token']:.2f} nt |",
        f"| unit lengths 1..{len(stats['unit_length_distribution'])} (share of units) | {distribution} |",
        f"| masked-LM accuracy (15% masked, 80/10/10) | {accuracy:.3f} |",
        f"| baseline: most frequent base | {frequent:.3f} |",
        f"| baseline: context table, two neighbours each side | {context:.3f} |",
        "",
        f"Wall time of the pretraining run: {seconds:.0f} s. Unit lengths against BPE: "
        f"[{FIGURE.name}]({FIGURE.name}).",
        "",
        "No GPU was available in this session, so the paper-size step times on a GPU are not "
        "measured yet.",
    ]
    write_section("mxdna", "\n".join(lines))


if __name__ == "__main__":
    main()
