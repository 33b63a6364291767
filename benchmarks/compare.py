"""Every pipeline of dnatok on the same GUE tasks, with the same wall-time budget.

Run from the repository root, one task at a time, with nothing else busy on the
machine (two torch jobs on 2 cores slow each other many-fold):

    python -m benchmarks.compare --task tf/0
    python -m benchmarks.compare --task prom/prom_core_all
    python -m benchmarks.compare --task prom/prom_core_tata
    python -m benchmarks.compare --task demo

Pipelines (the same seed and training sequences for all): the registered recipes
of ``dnatok gue`` (``estimators.recipe_names()``), built by the same code, with
their default settings (``kmer-logreg`` keeps k=6: its dev-split grid is not run
here); ``mxdna`` pretrains its tokenizer on the training sequences for 20% of the
budget and fine-tunes for the rest.

Every neural pipeline trains for at most ``--budget`` seconds (``max_time``; the
learning-rate schedule spans the budget), default model sizes, early stopping
with patience 3 on a stratified 10% of the training sequences (best weights
restored). The test split is read only to score. Training sets larger than
``--max-train`` are subsampled (seeded). ``demo`` is the embedded synthetic task of
``dnatok demo`` with its train/test split.

``--mxdna-pretrained FOLDER`` adds the pipeline ``mxdna-pretrained``: an
MxDNATokenizer loaded from a saved folder (e.g. one ``benchmarks.genome_pretrain``
wrote), fine-tuned by MxDNAClassifier for the same share of the budget as the
``mxdna`` recipe fine-tunes (80%; the folder's own pretraining is not counted).
``--max-train`` below a task's size stores the scores under ``TASK@N``.

``--pipelines mxdna-one-line`` runs what a user types, with nothing set but the
budget and the seed: ``make_pipeline(MxDNATokenizer(max_time=60, random_state=s),
MxDNAClassifier(max_time=240, random_state=s))`` at the default 300 s (the same
20%/80% split at other budgets): the estimators' defaults, no early stopping.

``--seeds 0,1,2`` repeats the task with each seed (the seed fixes the training
subsample, the initialisation and the batch order of every pipeline alike): one seed
moves a neural pipeline's test MCC by a few hundredths, as much as the differences
between the best pipelines, so compare means over seeds.

Each run stores its task's scores per seed in ``compare_results.json`` beside this
file and rewrites the "compare" section of RESULTS.md from all stored runs: per task
the mean test MCC over the stored seeds (each seed's MCC beside it), and per
pipeline the mean of those over the GUE tasks.
"""

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, matthews_corrcoef
from sklearn.pipeline import make_pipeline

from benchmarks._report import SHARED_DATA, write_section
from dnatok import MxDNATokenizer, read_sequence_csv
from dnatok._demo import split_demo_data
from dnatok._evaluation import set_random_states
from estimators import MxDNAClassifier, get_recipe, recipe_names, register_recipe
from estimators._mxdna import MXDNA_PRETRAIN_SHARE
from estimators._recipes import NEURAL, PipelineRecipe

HERE = Path(__file__).resolve().parent
#: training sequences beyond this are subsampled (stored under the task's own name)
MAX_TRAIN = 20_000
STORE = HERE / "compare_results.json"


def register_pretrained_mxdna(folder):
    """The ``mxdna-pretrained`` recipe: a saved MxDNATokenizer, fine-tuned for the recipe's share."""
    def build(max_time, device):
        fine_tune = max_time * (1 - MXDNA_PRETRAIN_SHARE)
        return make_pipeline(MxDNATokenizer(pretrained=folder),
                             MxDNAClassifier(max_time=fine_tune, device=device, **NEURAL))
    register_recipe(PipelineRecipe(
        "mxdna-pretrained", f"MxDNATokenizer(pretrained={Path(folder).name}) + MxDNAClassifier (80% of the budget)",
        build))


def one_line_mxdna(max_time, device):
    """MxDNA as a user types it: only the budget is set (the seed comes from ``build``)."""
    pretrain = max_time * MXDNA_PRETRAIN_SHARE
    return make_pipeline(MxDNATokenizer(max_time=pretrain),
                         MxDNAClassifier(max_time=max_time - pretrain, device=device))


#: pipelines of this benchmark only (not ``dnatok gue`` recipes)
BENCHMARK_PIPELINES = {
    "mxdna-one-line": PipelineRecipe(
        "mxdna-one-line", "make_pipeline(MxDNATokenizer(max_time=60), MxDNAClassifier(max_time=240)), "
        "nothing else set (20% + 80% of the budget)", one_line_mxdna),
}


def _recipe(name):
    return BENCHMARK_PIPELINES[name] if name in BENCHMARK_PIPELINES else get_recipe(name)


def pipelines(store=None):
    """Registered recipes, then any other pipeline stored (e.g. mxdna-pretrained)."""
    names = list(recipe_names())
    for entry in (store or {}).values():
        for run in seed_runs(entry).values():
            names += [name for name in run if name not in names]
    return names


def describe(name):
    return _recipe(name).description if name in (*recipe_names(), *BENCHMARK_PIPELINES) else name


def load_task(task, max_train, seed, split="test"):
    if task == "demo":
        X_train, X_test, y_train, y_test, _ = split_demo_data((), 0.25, 0)
        return list(X_train), np.asarray(y_train), list(X_test), np.asarray(y_test)
    folder = SHARED_DATA / "gue" / task
    X_train, y_train = read_sequence_csv(folder / "train.csv")
    X_test, y_test = read_sequence_csv(folder / f"{split}.csv")
    if len(X_train) > max_train:
        keep = np.sort(np.random.default_rng(seed).choice(len(X_train), max_train, replace=False))
        X_train, y_train = [X_train[i] for i in keep], np.asarray(y_train)[keep]
    return list(X_train), np.asarray(y_train), list(X_test), np.asarray(y_test)


def build(name, budget, seed):
    """The recipe's pipeline, every ``random_state`` in it set to the seed."""
    return set_random_states(_recipe(name).build(budget, "cpu"), seed)


def training_summary(estimator):
    """Epochs begun, batches run, and the mean training loss of the first and last 50 batches."""
    if not hasattr(estimator, "history"):
        return {"epochs": None}
    losses = [b["train_loss"] for epoch in estimator.history for b in epoch["batches"] if "train_loss" in b]
    return {"epochs": len(estimator.history), "batches": len(losses),
            "train_loss_first_last": [float(np.mean(losses[:50])), float(np.mean(losses[-50:]))]}


def run(task, names, budget, max_train, seed, split="test"):
    X_train, y_train, X_test, y_test = load_task(task, max_train, seed, split)
    print(f"{task}: {len(X_train)} training and {len(X_test)} test sequences", flush=True)
    results = {}
    for name in names:
        model = build(name, budget, seed)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        predicted = model.predict(X_test)
        results[name] = {
            "mcc": float(matthews_corrcoef(y_test, predicted)),
            "accuracy": float(accuracy_score(y_test, predicted)),
            "fit_seconds": fit_seconds,
            "predicted_positive": float(np.mean(predicted == np.max(y_train))),
            "date": datetime.date.today().isoformat(),
            **training_summary(model[-1]),
        }
        if hasattr(model[0], "tokenization_stats"):  # a tokenizer that learns its units: what it learnt
            stats = model[0].tokenization_stats(X_test[:500])
            results[name]["nucleotides_per_token"] = float(stats["nucleotides_per_token"])
            results[name]["pretrain_epochs"] = len(model[0].history_)
        print(f"  {name:12s} MCC {results[name]['mcc']:.3f}  accuracy {results[name]['accuracy']:.3f}  "
              f"fit {fit_seconds:.0f} s  {json.dumps({k: v for k, v in results[name].items() if k not in ('mcc', 'accuracy', 'date')})}",
              flush=True)
    return {"n_train": len(X_train), "n_test": len(X_test), "results": results}


def seed_runs(entry):
    """``{seed: {pipeline: result}}`` of one task; stores written before seeds were kept hold seed 0."""
    return entry["seeds"] if "seeds" in entry else {"0": entry["results"]}


def report(store, budget):
    tasks = list(store)
    runs = {task: seed_runs(store[task]) for task in tasks}
    names = pipelines(store)

    def results(task, name):  # (seed, result) of every stored seed that ran this pipeline
        return [(seed, run[name]) for seed, run in sorted(runs[task].items(), key=lambda kv: int(kv[0]))
                if name in run]

    lines = [
        f"Every pipeline with the same wall-time budget of {budget:g} s of training on 2 CPU cores "
        f"(MxDNA's tokenizer pretrains on the training sequences for part of it, as its label says), "
        f"default sizes, early stopping "
        f"(patience 3) on 10% of the training sequences (not mxdna-one-line: the estimators' defaults, "
        f"10 epochs, no hold-out). Test MCC, mean over the seeds run, each seed's "
        f"MCC in brackets (seeds in the order given under the table); the seed fixes the training "
        f"subsample, the initialisation and the batch order of every pipeline alike. The test split is "
        f"only scored. `python -m benchmarks.compare --task TASK --seeds 0,1,2`, one task at a time; "
        f"scores are stored in `benchmarks/compare_results.json`.",
        "",
        "| pipeline | " + " | ".join(f"{t} ({store[t]['n_train']:,} train)" for t in tasks) + " | mean MCC (GUE tasks as shipped) |",
        "| --- | " + " | ".join("---:" for _ in tasks) + " | ---: |",
    ]
    for name in names:
        cells, gue = [], []
        for task in tasks:
            mccs = [result["mcc"] for _, result in results(task, name)]
            if not mccs:
                cells.append("")
                continue
            each = f" ({' '.join(f'{m:.3f}' for m in mccs)})" if len(mccs) > 1 else ""
            cells.append(f"{np.mean(mccs):.3f}{each}")
            if task != "demo" and "@" not in task:  # shipped tasks only, not subsampled settings
                gue.append(np.mean(mccs))
        mean = f"{np.mean(gue):.3f}" if gue else ""
        lines.append(f"| {describe(name)} | " + " | ".join(cells) + f" | {mean} |")
    lines += ["", "Seeds per task: " + "; ".join(
        f"{task} {', '.join(sorted(runs[task], key=int))}" for task in tasks) + ".", ""]
    # scores are kept across runs, so say when each pipeline's were measured
    dates = {name: sorted({result.get("date", "undated") for task in tasks for _, result in results(task, name)})
             for name in names}
    lines += ["Run on: " + "; ".join(f"{name} {', '.join(dates[name])}" for name in names if dates[name])
              + " (undated: before 2026-12-06, when dates began to be stored).", ""]
    lines += ["Mean test accuracy over the seeds:", ""]
    lines.append("| pipeline | " + " | ".join(tasks) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in tasks) + " |")
    for name in names:
        cells = [f"{np.mean([r['accuracy'] for _, r in results(task, name)]):.3f}" if results(task, name) else ""
                 for task in tasks]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Fit seconds (wall time, tokenizer included) / epochs run, per seed:", ""]
    lines.append("| pipeline | " + " | ".join(tasks) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in tasks) + " |")
    for name in names:
        cells = []
        for task in tasks:
            each = []
            for _, result in results(task, name):
                text = f"{result['fit_seconds']:.0f}"
                if result["epochs"] is not None:
                    text += f" / {result['epochs']}"
                if "pretrain_epochs" in result:
                    text += f" (+{result['pretrain_epochs']}; {result['nucleotides_per_token']:.2f} nt/token)"
                each.append(text)
            cells.append(", ".join(each))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "MxDNA: (+pretraining epochs; mean nucleotides per learnt token on 500 test sequences)."]
    write_section("compare", "## Pipelines compared on GUE\n\n" + "\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", help="a GUE task path (tf/0, prom/prom_core_tata, ...) or demo")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from the stored scores")
    parser.add_argument("--pipelines", default=",".join(recipe_names()))
    parser.add_argument("--mxdna-pretrained", type=Path, help="a saved MxDNATokenizer folder: adds mxdna-pretrained")
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--max-train", type=int, default=MAX_TRAIN)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, each a full run of the task")
    parser.add_argument("--split", choices=("test", "dev"), default="test",
                        help="score on the GUE dev split while developing (implies --no-store)")
    parser.add_argument("--no-store", action="store_true", help="print only; leave the stored results as they are")
    args = parser.parse_args(argv)
    if args.report_only:
        report(json.loads(STORE.read_text()), args.budget)
        return
    if args.task is None:
        parser.error("--task is required (or --report-only)")
    if args.mxdna_pretrained is not None:
        register_pretrained_mxdna(args.mxdna_pretrained)
        if "mxdna-pretrained" not in args.pipelines.split(","):
            args.pipelines += ",mxdna-pretrained"
    torch.set_num_threads(2)
    for seed in (int(seed) for seed in args.seeds.split(",")):
        outcome = run(args.task, args.pipelines.split(","), args.budget, args.max_train, seed,
                      args.split)
        if args.no_store or args.split == "dev":
            continue
        # read and write per seed, so that an interrupted run keeps the seeds it finished
        store = json.loads(STORE.read_text()) if STORE.exists() else {}
        # a subsampled task is a setting of its own
        subsampled = outcome["n_train"] == args.max_train != MAX_TRAIN
        key = f"{args.task}@{args.max_train}" if subsampled else args.task
        entry = store.get(key, {})
        runs = seed_runs(entry) if entry else {}
        runs[str(seed)] = {**runs.get(str(seed), {}), **outcome["results"]}
        store[key] = {"n_train": outcome["n_train"], "n_test": outcome["n_test"], "seeds": runs}
        STORE.write_text(json.dumps(store, indent=1))
        report(store, args.budget)


if __name__ == "__main__":
    main()
