"""`dnatok gue` on the GUE tasks in ../shared/data/gue, beside the published models.

Run from the repository root:

    python -m benchmarks.gue [--model kmer-logreg] [--max-time 300]

Runs ``estimators._gue.run_gue`` (what ``dnatok gue`` runs) on every task of the
shared folder and rewrites the "gue" section of RESULTS.md with the per-task test
scores, the published DNABERT-2 and NT-2500M-multi scores and the differences.
"""

import argparse
import tempfile

from benchmarks._report import SHARED_DATA, write_section
from estimators import recipe_names
from estimators._gue import run_gue


def _number(value):
    return "" if value is None or value != value else f"{value:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=recipe_names(), default="kmer-logreg")
    parser.add_argument("--max-time", type=float, default=300.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as output:
        rows, _, _ = run_gue(args.model, max_time=args.max_time, data=SHARED_DATA / "gue", output=output,
                             random_state=0, progress=False)
    lines = [
        f"`dnatok gue --model {args.model}` on the GUE tasks in ../shared/data/gue (the whole training split, "
        f"seed 0; neural models limited to {args.max_time:g} s), test MCC beside the published scores (Table 6 "
        f"of the DNABERT-2 paper; NT's human TF 1-4 are not in the package).",
        "",
        "| task | MCC | chosen | DNABERT-2 | difference | NT-2500M-multi | difference | fit s |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        chosen = ", ".join(f"{k.split('__')[-1]}={v}" for k, v in (row["best_params"] or {}).items())
        lines.append(
            f"| {row['task']} | {_number(row['mcc'])} | {chosen} | {_number(row['DNABERT-2'])} | "
            f"{_number(row['minus_DNABERT-2'])} | {_number(row['NT-2500M-multi'])} | "
            f"{_number(row['minus_NT-2500M-multi'])} | {row['fit_seconds']:.0f} |"
        )
    write_section("gue", f"## GUE: {args.model} beside the published models\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
