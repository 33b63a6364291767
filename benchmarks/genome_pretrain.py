"""Pretrain an MxDNATokenizer on the shared genomes for a fixed budget, resumably.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.genome_pretrain --out genome-mxdna [--budget 3600]

Windows of ``--length`` nucleotides (no N, uppercase) are cut from E. coli, yeast
chrI-II and the human chr22 blocks in ../shared/data/genomes; every window that
contains a dev or test sequence of a shared GUE task (either strand) is dropped,
as the data README's leakage note asks. The tokenizer is MxDNATokenizer's default
network, pretrained with its default masked-LM trainer for at most ``--budget``
seconds of training.

An epoch is one pass over the windows, and a checkpoint is written after each, so
``--max-windows`` (default 16,000: about 6 minutes per epoch on 2 cores) keeps the
epochs short enough for an interruption to lose little; all the genomes' windows
(about 100,000 of 256 nt) make one epoch of about 40 minutes.

Resumable: the trainer checkpoints after every epoch in ``<out>/checkpoints`` and
``<out>/progress.json`` keeps the training seconds spent so far, so running the
same command again after an interruption continues from the last finished epoch
with the rest of the budget (the epoch cut short is redone). The result is saved
with ``save_pretrained`` in ``<out>/tokenizer``; load it with
``MxDNATokenizer(pretrained="<out>/tokenizer")``.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

from benchmarks._report import SHARED_DATA
from dnatok import MxDNATokenizer, genome_windows, read_fasta, read_sequence_csv

GENOMES = ("ecoli_K12_MG1655", "yeast_S288C_chrI_chrII", "human_hg19_chr22_blocks")


def evaluation_sequences():
    """The dev and test sequences of every shared GUE task."""
    sequences = []
    for split in sorted((SHARED_DATA / "gue").glob("*/*/dev.csv")) + sorted((SHARED_DATA / "gue").glob("*/*/test.csv")):
        sequences += read_sequence_csv(split)[0]
    return sequences


def pretraining_windows(length, max_windows=None):
    """Shuffled genome windows (seeded) with no evaluation sequence inside, at most ``max_windows``."""
    exclude = evaluation_sequences()
    windows = []
    for name in GENOMES:
        records = read_fasta(SHARED_DATA / "genomes" / f"{name}.fa.gz")
        windows += genome_windows(records, length=length, max_n_fraction=0.0, uppercase=True, exclude=exclude)
    order = np.random.default_rng(0).permutation(len(windows))[:max_windows]
    return [windows[i] for i in order]


class SpentTime(Callback):
    """After every epoch, write the training seconds of all finished epochs (restored ones included)."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, net, **kwargs):
        spent = sum(epoch["dur"] for epoch in net.history)
        Path(self.path).write_text(json.dumps({"seconds": spent, "epochs": len(net.history)}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for checkpoints and the saved tokenizer")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds of training in all")
    parser.add_argument("--length", type=int, default=256, help="nucleotides per window")
    parser.add_argument("--max-windows", type=int, default=16_000, help="windows per epoch (0: all)")
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    progress = args.out / "progress.json"
    spent = json.loads(progress.read_text())["seconds"] if progress.exists() else 0.0
    remaining = args.budget - spent
    windows = pretraining_windows(args.length, args.max_windows or None)
    print(f"{len(windows):,} windows of {args.length} nt; {spent:.0f} s of {args.budget:.0f} s spent", flush=True)
    if remaining <= 0:
        print("The budget is spent; nothing to train.")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        tokenizer = MxDNATokenizer().set_params(
            pretrainer__max_time=remaining, pretrainer__max_epochs=args.max_epochs,
            pretrainer__checkpoint_dir=args.out / "checkpoints", pretrainer__random_state=args.seed,
            pretrainer__callbacks=[("spent_time", SpentTime(progress))], pretrainer__verbose=1,
        )
        start = time.perf_counter()
        tokenizer.fit(windows)
        tokenizer.save_pretrained(args.out / "tokenizer")
        stats = tokenizer.tokenization_stats(windows[:500])
        finished = [epoch for epoch in tokenizer.history_ if "train_loss" in epoch]  # not the one cut short
        loss = f"{finished[-1]['train_loss']:.3f}" if finished else "none (no epoch finished)"
        print(f"trained {time.perf_counter() - start:.0f} s this run; {len(finished)} epochs finished in all; "
              f"last epoch's training loss {loss}; {stats['nucleotides_per_token']:.2f} nt per token; "
              f"saved to {args.out / 'tokenizer'}", flush=True)


if __name__ == "__main__":
    main()
