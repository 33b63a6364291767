"""dnatok: DNA language-model tokenizers and models as scikit-learn estimators.

Tokenizers (scikit-learn transformers): :class:`KmerTokenizer`,
:class:`CharTokenizer`, :class:`BPETokenizer`, :class:`MxDNATokenizer` (imported on
first use: it is the only one that needs torch). Sequence I/O: :func:`read_fasta`,
:func:`write_fasta`, :func:`read_sequence_csv`, :func:`genome_windows`. Datasets:
:mod:`dnatok.datasets`; scoring a pipeline on the GUE benchmark: :func:`evaluate_gue`.
"""

from ._base import BaseTokenizer
from ._bpe import BPETokenizer
from ._char import CharTokenizer
from ._evaluation import evaluate_gue
from ._fasta import read_fasta, write_fasta
from ._kmer import KmerTokenizer
from ._sequences import check_sequences, reverse_complement
from ._tables import read_sequence_csv
from ._tokenized import TokenizedSequences
from ._version import __version__
from ._windows import genome_windows


def __getattr__(name):
    # MxDNATokenizer needs torch; k-mer, nucleotide and BPE users never pay its import
    if name == "MxDNATokenizer":
        from ._mxdna_tokenizer import MxDNATokenizer

        return MxDNATokenizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BPETokenizer",
    "BaseTokenizer",
    "CharTokenizer",
    "KmerTokenizer",
    "MxDNATokenizer",
    "TokenizedSequences",
    "check_sequences",
    "evaluate_gue",
    "genome_windows",
    "read_fasta",
    "read_sequence_csv",
    "reverse_complement",
    "write_fasta",
]
