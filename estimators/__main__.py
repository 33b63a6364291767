"""Command line: ``dnatok demo [PATH ...]`` and ``dnatok gue --model ...`` (also
``python -m estimators ...``), the one entry point of dnatok and estimators.

It lives here, above the torch-free core, because the demo and the neural GUE
models need the estimators (and dnatok never imports them).
"""

import argparse
import sys

from ._demo import run_mxdna_demo
from ._gue import run_gue
from ._recipes import recipe_names

__all__ = ["main"]


def main(argv=None):
    """Run the ``dnatok`` command line; returns the exit status.

    A command's ``run(args)`` (``set_defaults(run=...)``) returns the report to
    print, or None; an ``OSError`` or ``ValueError`` it raises is printed as the
    command's error, with exit status 2.
    """
    parser = argparse.ArgumentParser(prog="dnatok", description="DNA tokenizers and models, the scikit-learn way.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_demo_command(commands)
    add_gue_command(commands)
    args = parser.parse_args(argv)
    try:
        report = args.run(args)
    except (OSError, ValueError) as error:
        print(f"dnatok {args.command}: error: {error}", file=sys.stderr)
        return 2
    if report is not None:
        print(report)
    return 0


def add_demo_command(commands):
    """``dnatok demo``: MxDNA learns a tokenization and classifies, beside a k-mer baseline."""
    description = (
        "Learn a tokenization with MxDNA, then classify: pretrain MxDNATokenizer and fine-tune "
        "MxDNAClassifier on the embedded synthetic task (or on your data: one CSV with "
        "sequence,label columns, or one FASTA file per class), and print accuracy, compression "
        "and learned tokenizations."
    )
    demo = commands.add_parser("demo", help=description.split(" on ")[0], description=description)
    demo.add_argument("paths", nargs="*", help="a CSV file, or two or more FASTA files (one per class)")
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    demo.add_argument("--pretrain-epochs", type=int, default=2)
    demo.add_argument("--finetune-epochs", type=int, default=20)
    demo.add_argument("--device", default="cpu", help="cpu, cuda, ...")

    def run(args):
        return run_mxdna_demo(
            args.paths, pretrain_epochs=args.pretrain_epochs, finetune_epochs=args.finetune_epochs,
            random_state=args.random_state, device=args.device,
        )

    demo.set_defaults(run=run)
    return demo


class _TasksFailed(ValueError):
    """Some GUE tasks failed; their rows say why."""


def add_gue_command(commands):
    """``dnatok gue``: a model on GUE tasks, printed and written beside the published models."""
    gue = commands.add_parser(
        "gue", help="score a model on GUE tasks beside DNABERT-2 and Nucleotide Transformer",
        description="Fit a model on each GUE task's training split (choosing among candidates on dev "
        "where the model has them), score it on test, print each task beside the published DNABERT-2 "
        "and NT-2500M-multi scores, and write a CSV and a bar chart.",
    )
    gue.add_argument("--model", choices=recipe_names(), default="kmer-logreg",
                     help="kmer-logreg: k-mer counts + logistic regression, k chosen on dev (default)")
    gue.add_argument("--tasks", help="comma-separated task paths, e.g. tf/0,prom/prom_core_tata (default: all found)")
    gue.add_argument("--max-time", type=float, default=300.0, help="seconds of training per task for neural models")
    gue.add_argument("--data", help="a GUE.zip or a folder in its layout, instead of the download")
    gue.add_argument("--data-home", help="cache folder for the download (default: $DNATOK_DATA or ~/dnatok_data)")
    gue.add_argument("--output", default="gue_results", help="folder for the CSV and PNG (default gue_results)")
    gue.add_argument("--max-train", type=int, help="fit on at most this many training sequences per task")
    gue.add_argument("--n-jobs", type=int, help="tasks in parallel")
    gue.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    gue.add_argument("--device", default="cpu", help="cpu, cuda, ... for the neural models")

    def run(args):
        tasks = None if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
        rows, _, _ = run_gue(args.model, tasks, max_time=args.max_time, data=args.data, data_home=args.data_home,
                             output=args.output, random_state=args.random_state, n_jobs=args.n_jobs,
                             max_train=args.max_train, device=args.device)
        failed = [row["task"] for row in rows if row["error"]]
        if failed:  # the table is written; the exit status still says not all went well
            raise _TasksFailed(f"{len(failed)} of {len(rows)} task(s) failed: {', '.join(failed)}")

    gue.set_defaults(run=run)
    return gue


if __name__ == "__main__":
    sys.exit(main())
