"""Command line: ``dnatok demo [PATH ...]`` and ``dnatok gue --model ...`` (also
``python -m estimators ...``), the one entry point of dnatok and estimators.

It lives here, above the torch-free core, because the demo and the neural GUE
models need the estimators (and dnatok never imports them).
"""

import argparse
import dataclasses
import re
import sys
from fractions import Fraction

from dnatok.datasets import ArchiveLimits, UnsafeArchiveError

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
    add_archive_limit_options(gue)

    def run(args):
        # a task named twice is run once (run_gue keeps the first)
        tasks = None if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
        try:
            rows, _, _ = run_gue(args.model, tasks, max_time=args.max_time, data=args.data,
                                 data_home=args.data_home, output=args.output, random_state=args.random_state,
                                 n_jobs=args.n_jobs, max_train=args.max_train, device=args.device,
                                 limits=archive_limits(args))
        except UnsafeArchiveError as error:
            raise _with_option_hint(error) from error
        failed = [row["task"] for row in rows if row["error"]]
        if failed:  # the table is written; the exit status still says not all went well
            raise _TasksFailed(f"{len(failed)} of {len(rows)} task(s) failed: {', '.join(failed)}")

    gue.set_defaults(run=run)
    return gue


# ArchiveLimits field -> its command-line option
_LIMIT_OPTIONS = {field.name: "--" + field.name.replace("_", "-") for field in dataclasses.fields(ArchiveLimits)}
_SIZE_UNITS = {"": 1, "b": 1, **{prefix: 1 << (10 * power) for power, prefix in enumerate("kmgt", 1)},
               **{f"{prefix}ib": 1 << (10 * power) for power, prefix in enumerate("kmgt", 1)},
               **{f"{prefix}b": 1000 ** power for power, prefix in enumerate("kmgt", 1)}}


def add_archive_limit_options(parser):
    """``--max-total-size``, ``--max-member-size``, ``--max-members``, ``--max-ratio``: an ArchiveLimits.

    An option left out keeps the :class:`~dnatok.datasets.ArchiveLimits` default
    (its attribute is not set); ``none`` switches a limit off.
    """
    default = ArchiveLimits()
    group = parser.add_argument_group(
        "archive limits",
        "How far a GUE zip (--data GUE.zip, or the download) may expand before it is refused as a "
        "possible zip bomb. Raise a limit to extract a larger archive you trust; 'none' switches it off. "
        "Sizes are bytes, or a number with a unit: K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or "
        "KB, MB, GB, TB (powers of 1000), e.g. 8GiB.",
    )
    group.add_argument("--max-total-size", type=_size, metavar="SIZE", default=argparse.SUPPRESS,
                       help=f"all members together (default {_format_size(default.max_total_size)})")
    group.add_argument("--max-member-size", type=_size, metavar="SIZE", default=argparse.SUPPRESS,
                       help=f"any one member (default {_format_size(default.max_member_size)})")
    group.add_argument("--max-members", type=_count, metavar="N", default=argparse.SUPPRESS,
                       help=f"files and folders in the archive (default {default.max_members})")
    group.add_argument("--max-ratio", type=_ratio, metavar="R", default=argparse.SUPPRESS,
                       help=f"how many times its compressed size a member, or the whole archive, may expand to, "
                            f"checked above 1 MiB (default {default.max_ratio})")
    return group


def archive_limits(args):
    """The :class:`~dnatok.datasets.ArchiveLimits` the options ask for; None where none was given."""
    given = {field: getattr(args, field) for field in _LIMIT_OPTIONS if hasattr(args, field)}
    return ArchiveLimits(**given) if given else None


def _with_option_hint(error):
    """``error`` with the option that raises the limit it names (its message names the ArchiveLimits field)."""
    for field, option in _LIMIT_OPTIONS.items():
        if f"ArchiveLimits({field}=" in str(error):
            return UnsafeArchiveError(f"{error} On the command line: {option}.")
    return error


def _none_or(parse, what, example):
    def parse_option(text):
        if text.strip().lower() == "none":
            return None
        try:
            value = parse(text.strip())
        except (ValueError, ZeroDivisionError):
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}: give e.g. {example}, or none for no limit")
        return value

    return parse_option


def _parse_size(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", text)
    if match is None or match[2].lower() not in _SIZE_UNITS:
        return None
    return int(Fraction(match[1]) * _SIZE_UNITS[match[2].lower()])


def _format_size(n_bytes):
    for unit, power in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n_bytes is not None and n_bytes >= 1 << power and n_bytes % (1 << power) == 0:
            return f"{n_bytes >> power}{unit}"
    return str(n_bytes)


_size = _none_or(_parse_size, "a size", "8GiB, 500MB or 1000000 (bytes)")
_count = _none_or(int, "a positive whole number", "500000")
_ratio = _none_or(float, "a positive number", "1000")


if __name__ == "__main__":
    sys.exit(main())
