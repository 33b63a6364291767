"""The torch-free part of ``dnatok demo``: its data, split, and k-mer baseline.

The demo itself (MxDNA) and the command line are in ``estimators``, which dnatok
never imports.
"""

from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, matthews_corrcoef
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from ._fasta import read_fasta
from ._kmer import KmerTokenizer
from ._tables import read_sequence_csv
from .datasets import make_motif_classification

__all__ = ["kmer_baseline", "load_demo_data", "split_demo_data"]

_FASTA_SUFFIXES = {".fa", ".fasta", ".fna", ".fas"}


def load_demo_data(paths=(), random_state=0):
    """Sequences, labels and a description for the demo.

    Parameters
    ----------
    paths : sequence of path-like
        Empty for the embedded default (a synthetic task with two planted motifs);
        one CSV with ``sequence,label`` columns; or two or more FASTA files (plain
        or gzip), one per class, each labelled by its file name.
    random_state : int
        Seed of the synthetic default.

    Returns
    -------
    X : list of str
    y : ndarray
    description : str
    """
    paths = [Path(p) for p in paths]
    if not paths:
        X, y, motifs = make_motif_classification(
            2000, length=100, random_state=random_state, return_motifs=True
        )
        return X, y, (
            f"embedded synthetic task: 2000 sequences of 100 nt, class motifs "
            f"{motifs[0]} (class 0) and {motifs[1]} (class 1), planted in 80% of sequences"
        )
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"No such file: {', '.join(missing)}")
    if len(paths) == 1 and not _is_fasta(paths[0]):
        X, y = read_sequence_csv(paths[0])
        return X, y, f"{paths[0]} ({len(X)} sequences)"
    if len(paths) == 1 or not all(_is_fasta(p) for p in paths):
        raise ValueError(
            "Give one CSV file with sequence,label columns, or two or more FASTA files "
            "(.fa/.fasta/.fna, optionally .gz), one per class."
        )
    X, y = [], []
    for path in paths:
        sequences = [sequence for _, sequence in read_fasta(path)]
        X += sequences
        y += [_class_name(path)] * len(sequences)
    names = ", ".join(f"{_class_name(p)}" for p in paths)
    return X, np.asarray(y, dtype=object), f"{len(paths)} FASTA files, classes {names} ({len(X)} sequences)"


def split_demo_data(paths, test_size, random_state):
    """The demo data split into stratified train and test parts, and its description."""
    X, y, description = load_demo_data(paths, random_state)
    return (*train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y), description)


def kmer_baseline(X_train, X_test, y_train, y_test, *, k=6):
    """Fit k-mer counts + logistic regression, the baseline of ``dnatok demo``.

    Parameters
    ----------
    X_train, X_test, y_train, y_test
        The demo's split (:func:`split_demo_data`).
    k : int, default=6
        k-mer length.

    Returns
    -------
    lines : list of str
        The model, example tokens, test accuracy and Matthews correlation.
    """
    tokenizer = KmerTokenizer(k=k, output="counts", handle_unknown="unk")
    predicted = make_pipeline(tokenizer, LogisticRegression(max_iter=2000, C=0.5)).fit(X_train, y_train).predict(X_test)
    return [
        f"model: KmerTokenizer(k={k}, output='counts') + LogisticRegression",
        f"example tokens: {' '.join(KmerTokenizer(k=k, stride=k).tokenize(X_test[0][:5 * k]))} ...",
        f"test accuracy: {accuracy_score(y_test, predicted):.3f}",
        f"test Matthews correlation: {matthews_corrcoef(y_test, predicted):.3f}",
    ]


def _is_fasta(path):
    suffixes = path.suffixes[-2:] if path.suffix == ".gz" else path.suffixes[-1:]
    return bool(suffixes) and suffixes[0].lower() in _FASTA_SUFFIXES


def _class_name(path):
    name = path.name
    for suffix in reversed(path.suffixes):
        name = name[: -len(suffix)] if name.endswith(suffix) else name
    return name
