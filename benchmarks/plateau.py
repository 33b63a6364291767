"""Why MxDNA starts in a plateau: the training loss of the first steps, by pooling.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.plateau

Every model trains from scratch (no pretraining, so only the architecture differs)
for 8 epochs on 2,000 training sequences of a GUE task drawn with seed 0, batch 32,
default sizes (MxDNA with 2 token layers, as MxDNATokenizer's default network), and
is scored on the task's dev split (test is not read). The table gives the mean
training loss of each run of 50 batches: a model that learns from its first steps
leaves ln 2 = 0.693 at once. Rewrites the "plateau" section of RESULTS.md.
"""

import argparse

import numpy as np
import torch
from sklearn.metrics import matthews_corrcoef
from sklearn.pipeline import make_pipeline

from benchmarks._report import SHARED_DATA, write_section
from dnatok import CharTokenizer, read_sequence_csv
from estimators import MxDNAClassifier, SequenceClassifier

MXDNA = dict(pretrained=None, module__n_token_layers=2)
MODELS = {
    "char transformer, mean pooling (default)": lambda **c: SequenceClassifier(**c),
    "char transformer, [CLS] pooling": lambda **c: SequenceClassifier(module__pooling="cls", **c),
    "MxDNA, decoder pooling (default)": lambda **c: MxDNAClassifier(**MXDNA, **c),
    "MxDNA, cls_direct pooling": lambda **c: MxDNAClassifier(module__pooling="cls_direct", **MXDNA, **c),
    "MxDNA, mean pooling": lambda **c: MxDNAClassifier(module__pooling="mean", **MXDNA, **c),
}
TASKS = ("tf/1", "prom/prom_core_notata")


def run(task, name, n_train, epochs, seed):
    folder = SHARED_DATA / "gue" / task
    X, y = read_sequence_csv(folder / "train.csv")
    X_dev, y_dev = read_sequence_csv(folder / "dev.csv")
    keep = np.sort(np.random.default_rng(seed).choice(len(X), n_train, replace=False))
    model = make_pipeline(CharTokenizer(), MODELS[name](max_epochs=epochs, random_state=seed))
    model.fit([X[i] for i in keep], np.asarray(y)[keep])
    losses = [b["train_loss"] for e in model[-1].history for b in e["batches"] if "train_loss" in b]
    chunks = [np.mean(losses[i:i + 50]) for i in range(0, len(losses), 50)]
    return chunks, matthews_corrcoef(y_dev, model.predict(X_dev))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    lines = [
        "## Why MxDNA starts in a plateau (issue 23)",
        "",
        f"From scratch, {args.epochs} epochs on {args.n_train:,} training sequences (seed {args.seed}), "
        f"batch 32; mean training loss of batches 1-50, 51-100, ... (ln 2 = 0.693), and dev MCC.",
        "",
        "| task | model | loss per 50 batches | dev MCC |",
        "| --- | --- | --- | ---: |",
    ]
    for task in TASKS:
        for name in MODELS:
            chunks, mcc = run(task, name, args.n_train, args.epochs, args.seed)
            lines.append(f"| {task} | {name} | {' '.join(f'{c:.3f}' for c in chunks[:6])} ... {chunks[-1]:.3f} | {mcc:.3f} |")
            print(lines[-1], flush=True)
    write_section("plateau", "\n".join(lines))


if __name__ == "__main__":
    main()
