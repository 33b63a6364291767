"""``dnatok gue``: one named pipeline on GUE tasks, beside the published models.

The pipelines are the registered recipes (:mod:`estimators._recipes`), the same
that ``benchmarks/compare.py`` runs, each neural one limited to ``max_time``
seconds of training per task; a recipe's ``param_grid`` (``kmer-logreg``: k) is
chosen on each task's dev split.
"""

import csv
import math
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dnatok import evaluate_gue
from dnatok.datasets import GUE_TASKS
from dnatok.datasets._gue import gue_folder

from ._recipes import get_recipe

__all__ = ["run_gue", "write_gue_chart"]


_COLUMNS = ("task", "mcc", "accuracy", "f1", "DNABERT-2", "minus_DNABERT-2", "NT-2500M-multi",
            "minus_NT-2500M-multi", "fit_seconds", "predict_seconds", "n_train", "n_test", "best_params", "error")


def _cell(value, digits=3):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def run_gue(model="kmer-logreg", tasks=None, *, max_time=300.0, data=None, data_home=None, output="gue_results",
            random_state=0, n_jobs=None, max_train=None, device="cpu", progress=True, print_fn=print, limits=None):
    """Evaluate one model on GUE, print each task as it finishes, write CSV and chart.

    ``tasks`` named more than once are run once, in the order first named.
    ``data`` (a ``GUE.zip`` or folder) and ``data_home`` are :func:`dnatok.datasets.fetch_gue`'s
    ``archive`` and ``data_home``, and ``limits`` (an :class:`~dnatok.datasets.ArchiveLimits`,
    None for the defaults) bounds the extraction of the zip or of the download.

    Returns
    -------
    rows : list of dict
        As :func:`dnatok.evaluate_gue`.
    csv_path, png_path : pathlib.Path (png_path None without matplotlib)
    """
    recipe = get_recipe(model)
    pipeline, grid = recipe.build(max_time, device), recipe.param_grid
    root = gue_folder(data_home=data_home, archive=data, limits=limits)
    if isinstance(tasks, str):
        tasks = [tasks]
    # a task named twice would be fitted twice and fill two rows of the table
    tasks = [t for t in GUE_TASKS if (root / t).is_dir()] if tasks is None else list(dict.fromkeys(tasks))
    unknown = [t for t in tasks if t not in GUE_TASKS]
    if unknown:
        raise ValueError(f"Unknown GUE task(s) {', '.join(map(repr, unknown))}; known: {', '.join(GUE_TASKS)}.")
    header = f"{'task':24s} {'MCC':>6s} {'DNABERT-2':>9s} {'NT-2.5B':>8s} {'fit s':>7s}"
    print_fn(f"dnatok gue: {model} on {len(tasks)} task(s) from {root}")
    print_fn(header)
    bar = tqdm(total=len(tasks), disable=None if progress else True, leave=False)  # None: off without a terminal

    def report(row):
        bar.update(1)
        line = (f"{row['task']:24s} {_cell(row['mcc']):>6s} {_cell(row['DNABERT-2']):>9s} "
                f"{_cell(row['NT-2500M-multi']):>8s} {_cell(row['fit_seconds'], 0):>7s}")
        if row["error"]:
            line += f"  failed: {row['error']}"
        print_fn(line) if bar.disable else bar.write(line)

    rows = evaluate_gue(pipeline, tasks, param_grid=grid, archive=root, random_state=random_state,
                        n_jobs=n_jobs, max_train=max_train, callback=report)
    bar.close()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    csv_path = output / f"gue_{model}.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_COLUMNS)
        writer.writerows([[_cell(row.get(c), 6) for c in _COLUMNS] for row in rows])
    png_path = write_gue_chart(rows, output / f"gue_{model}.png", model)
    print_fn(f"wrote {csv_path}" + (f" and {png_path}" if png_path else " (no chart: pip install matplotlib)"))
    return rows, csv_path, png_path


def write_gue_chart(rows, path, label):
    """Bar chart of per-task MCC beside the published models; None without matplotlib."""
    try:  # a Figure of its own: no pyplot, so a notebook's backend is left alone
        from matplotlib.figure import Figure
    except ImportError:
        return None

    tasks = [row["task"] for row in rows]
    # each task on the metric the paper reports for it (virus/covid: F1)
    series = {label: [row["f1"] if row.get("published_metric") == "f1" else row["mcc"] for row in rows],
              "DNABERT-2": [np.nan if row["DNABERT-2"] is None else row["DNABERT-2"] for row in rows],
              "NT-2500M-multi": [np.nan if row["NT-2500M-multi"] is None else row["NT-2500M-multi"] for row in rows]}
    x = np.arange(len(tasks))
    width = 0.8 / len(series)
    fig = Figure(figsize=(max(6.0, 0.9 * len(tasks) + 2), 4))
    ax = fig.subplots()
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + (i - 1) * width, values, width, label=name)
    ax.set_xticks(x, tasks, rotation=45, ha="right")
    ax.set_ylabel("test MCC (virus/covid: F1)")
    ax.set_title(f"GUE: {label} against the published models")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return Path(path)
