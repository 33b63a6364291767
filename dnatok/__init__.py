"""dnatok: DNA language-model tokenizers and models as scikit-learn estimators."""

from ._base import BaseTokenizer
from ._bpe import BPETokenizer
from ._char import CharTokenizer
from ._kmer import KmerTokenizer
from ._sequences import check_sequences, reverse_complement
from ._tokenized import TokenizedSequences

__version__ = "0.1.0"

__all__ = [
    "BPETokenizer",
    "BaseTokenizer",
    "CharTokenizer",
    "KmerTokenizer",
    "TokenizedSequences",
    "check_sequences",
    "reverse_complement",
]
