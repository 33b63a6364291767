"""Command line: ``dnatok demo [PATH ...]`` (also ``python -m estimators demo``)."""

import sys

from dnatok.__main__ import demo_parser, run_cli

__all__ = ["main"]


def main(argv=None):
    """Run the MxDNA demo command line; returns the exit status."""
    parser, demo = demo_parser(
        "Learn a tokenization with MxDNA, then classify: pretrain MxDNATokenizer and fine-tune "
        "MxDNAClassifier on the embedded synthetic task (or on your data: one CSV with "
        "sequence,label columns, or one FASTA file per class), and print accuracy, compression "
        "and learned tokenizations."
    )
    demo.add_argument("--pretrain-epochs", type=int, default=2)
    demo.add_argument("--finetune-epochs", type=int, default=20)
    demo.add_argument("--device", default="cpu", help="cpu, cuda, ...")

    def run(args):
        from ._demo import run_mxdna_demo

        return run_mxdna_demo(
            args.paths, pretrain_epochs=args.pretrain_epochs, finetune_epochs=args.finetune_epochs,
            random_state=args.random_state, device=args.device,
        )

    return run_cli(parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
