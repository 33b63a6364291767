"""Early-stopping rules replayed on whole training trajectories (dev split only).

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.early_stopping --task tf/0 --max-train 1000 --seeds 0,1
    python -m benchmarks.early_stopping --report-only

Runs recipes of ``dnatok gue`` (default ``char-transformer`` and ``mxdna``) on a GUE
task subsampled to ``--max-train`` training sequences for the whole ``--budget``,
never stopping early (patience set beyond reach, the same 10% hold-out split), and
records after every epoch: training loss, the loss and MCC of the hold-out that
early stopping reads, and the MCC on the task's **dev** split (the test split is
never read; the time budget and the learning-rate schedule are paused while dev is
scored). The learning-rate schedule follows the time budget, so the run a stopping
rule would make is a prefix of the recorded one: each rule below is replayed on
the trajectory and scored by the dev MCC of the weights it would keep.

Rules: patience P epochs on the hold-out loss, best weights restored (the recipes
use P = 3); the same on the hold-out MCC; the last weights of the whole budget; the
best dev epoch (an oracle, for scale).

Each run is stored in ``early_stopping_results.json`` beside this file; the
"early_stopping" section of RESULTS.md is rewritten from all stored runs.
"""

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from sklearn.metrics import matthews_corrcoef

from benchmarks._report import write_section
from benchmarks.compare import build, load_task

STORE = Path(__file__).resolve().with_name("early_stopping_results.json")
RULES = {
    "loss, patience 3": ("valid_loss", 3),
    "loss, patience 5": ("valid_loss", 5),
    "loss, patience 10": ("valid_loss", 10),
    "loss, whole budget": ("valid_loss", None),
    "hold-out MCC, patience 3": ("valid_mcc", 3),
    "last weights": (None, None),
}


class RecordEpochs(Callback):
    """After every epoch: losses, hold-out MCC and dev MCC, with the clocks paused for dev."""

    def __init__(self, tokenizer, X_dev, y_dev):
        self.tokenizer = tokenizer
        self.X_dev = X_dev
        self.y_dev = y_dev

    def initialize(self):
        self.rows_ = []
        return self

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        start = time.monotonic()
        clocks = dict(net.callbacks_)
        elapsed = start - clocks["time_budget"].start_
        with torch.no_grad():  # the hold-out, as skorch's validation pass saw it
            outputs = [o[0] if isinstance(o, tuple) else o for o in NeuralNet.forward_iter(net, dataset_valid)]
        predicted = torch.cat(outputs).argmax(1).numpy()
        y_valid = np.asarray(dataset_valid.dataset.y)[dataset_valid.indices]
        dev_predicted = np.asarray(net.predict(self.tokenizer.transform(self.X_dev)))
        epoch = net.history[-1]
        self.rows_.append({
            "epoch": len(net.history), "elapsed": elapsed, "train_loss": epoch["train_loss"],
            "valid_loss": epoch["valid_loss"], "valid_mcc": float(matthews_corrcoef(y_valid, predicted)),
            "dev_mcc": float(matthews_corrcoef(self.y_dev, dev_predicted)),
        })
        paused = time.monotonic() - start
        clocks["time_budget"].start_ += paused
        clocks["lr_schedule"].start_ += paused


def trajectory(task, name, budget, max_train, seed):
    X_train, y_train, X_dev, y_dev = load_task(task, max_train, seed, split="dev")
    model = build(name, budget, seed)
    record = RecordEpochs(model[0], X_dev, y_dev)
    model[-1].set_params(early_stopping=10**6, callbacks=[("record_epochs", record)])
    model.fit(X_train, y_train)
    return {"task": task, "max_train": max_train, "n_train": len(X_train), "seed": seed, "pipeline": name,
            "budget": budget, "date": datetime.date.today().isoformat(), "epochs": record.rows_}


def replay(rows, key, patience):
    """Index of the epoch whose weights a rule keeps."""
    if key is None:
        return len(rows) - 1
    sign = 1 if key == "valid_loss" else -1
    best, waited = 0, 0
    for i, row in enumerate(rows):
        if sign * row[key] < sign * rows[best][key]:
            best, waited = i, 0
        elif i:
            waited += 1
            if patience is not None and waited >= patience:
                break
    return best


def report(runs):
    settings = sorted({(r["task"], r["n_train"], r["pipeline"]) for r in runs})
    lines = [
        "## Early-stopping rules replayed (dev split)",
        "",
        "Whole-budget trajectories of the recipes on subsampled GUE tasks, never stopping; each rule "
        "replayed on them and scored by the dev MCC of the weights it keeps (mean over seeds). "
        "`best epoch` is the epoch of the lowest hold-out loss (per seed) and when it came.",
        "",
        "| task (training sequences) | pipeline | seeds | " + " | ".join(RULES) + " | best dev epoch (oracle) | best epoch |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in RULES) + " | ---: | --- |",
    ]
    for task, n_train, pipeline in settings:
        mine = [r for r in runs if (r["task"], r["n_train"], r["pipeline"]) == (task, n_train, pipeline)]
        cells = [np.mean([r["epochs"][replay(r["epochs"], *rule)]["dev_mcc"] for r in mine]) for rule in RULES.values()]
        oracle = np.mean([max(e["dev_mcc"] for e in r["epochs"]) for r in mine])
        best = [r["epochs"][replay(r["epochs"], "valid_loss", None)] for r in mine]
        lines.append(
            f"| {task} ({n_train:,}) | {pipeline} | {len(mine)} | " + " | ".join(f"{c:.3f}" for c in cells)
            + f" | {oracle:.3f} | " + ", ".join(f"{b['epoch']} ({b['elapsed']:.0f} s)" for b in best) + " |"
        )
    write_section("early_stopping", "\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="tf/0")
    parser.add_argument("--pipelines", default="char-transformer,mxdna")
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--max-train", type=int, default=1000)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    runs = json.loads(STORE.read_text()) if STORE.exists() else []
    if not args.report_only:
        torch.set_num_threads(2)
        for seed in (int(s) for s in args.seeds.split(",")):
            for name in args.pipelines.split(","):
                run = trajectory(args.task, name, args.budget, args.max_train, seed)
                runs = [r for r in runs if (r["task"], r["n_train"], r["seed"], r["pipeline"], r["budget"])
                        != (run["task"], run["n_train"], run["seed"], run["pipeline"], run["budget"])] + [run]
                STORE.write_text(json.dumps(runs, indent=1))  # per run: an interrupted run keeps the rest
    report(runs)


if __name__ == "__main__":
    main()
