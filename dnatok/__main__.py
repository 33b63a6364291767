"""Command line: ``python -m dnatok demo [PATH ...]`` (also the ``dnatok`` script)."""

import argparse
import sys

__all__ = ["main"]


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="dnatok", description="DNA tokenizers and models, the scikit-learn way.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train and score a tokenizer + classifier pipeline",
        description="Train and score a k-mer tokenizer + classifier pipeline on the embedded "
        "synthetic task, or on your data: one CSV with sequence,label columns, or one FASTA "
        "file per class.",
    )
    demo.add_argument("paths", nargs="*", help="a CSV file, or two or more FASTA files (one per class)")
    demo.add_argument("--k", type=int, default=6, help="k-mer length (default 6)")
    demo.add_argument("--test-size", type=float, default=0.25, help="held-out fraction (default 0.25)")
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    args = parser.parse_args(argv)

    from ._demo import run_demo

    try:
        report = run_demo(args.paths, k=args.k, test_size=args.test_size, random_state=args.random_state)
    except (OSError, ValueError) as error:
        print(f"dnatok demo: error: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
