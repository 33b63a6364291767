"""A synthetic labelled DNA task with planted motifs, for demos and tests."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_motif_classification"]

_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "length": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "motifs": [list, None],
        "motif_length": [Interval(Integral, 1, None, closed="left")],
        "motif_probability": [Interval(Real, 0, 1, closed="both")],
        "mutation_rate": [Interval(Real, 0, 1, closed="both")],
        "gc_content": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
        "return_motifs": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_motif_classification(
    n_samples=1000,
    *,
    length=100,
    n_classes=2,
    motifs=None,
    motif_length=8,
    motif_probability=0.8,
    mutation_rate=0.05,
    gc_content=0.5,
    random_state=None,
    return_motifs=False,
):
    """Generate DNA sequences whose class is given by a planted motif.

    Every sequence is random background (with the given GC content). Each class has
    its own motif; a sequence of class c carries one copy of motif c, at a random
    position, with probability ``motif_probability``, each base of the copy mutated
    with probability ``mutation_rate``. Sequences without a motif are what makes the
    task imperfectly separable, like ``make_classification``'s ``flip_y``. Classes
    are balanced (as equal as ``n_samples`` allows) and shuffled.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of sequences.
    length : int, default=100
        Length of every sequence, at least the motif length.
    n_classes : int, default=2
        Number of classes.
    motifs : list of str or None, default=None
        One ACGT motif per class, each at most ``length`` long; None draws random
        motifs of ``motif_length`` bases.
    motif_length : int, default=8
        Length of the random motifs.
    motif_probability : float, default=0.8
        Probability that a sequence carries its class's motif.
    mutation_rate : float, default=0.05
        Probability that a base of a planted motif is replaced by a random base.
    gc_content : float, default=0.5
        Probability that a background base is G or C.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.
    return_motifs : bool, default=False
        Also return the motifs.

    Returns
    -------
    X : list of str, length n_samples
        Upper-case ACGT sequences.
    y : ndarray of int64, shape (n_samples,)
        Class of each sequence, 0 .. n_classes - 1.
    motifs : list of str
        The motif of each class; only with ``return_motifs=True``.

    Examples
    --------
    >>> from dnatok.datasets import make_motif_classification
    >>> X, y = make_motif_classification(4, length=12, random_state=0)
    >>> len(X), len(X[0]), y.tolist()
    (4, 12, [1, 0, 1, 0])
    """
    rng = check_random_state(random_state)
    motifs = _check_motifs(motifs, n_classes, motif_length, length, rng)

    # background: A/T with probability (1 - gc)/2 each, C/G with gc/2 each
    gc = gc_content / 2
    at = (1 - gc_content) / 2
    codes = rng.choice(4, size=(n_samples, length), p=[at, gc, gc, at]).astype(np.uint8)
    y = rng.permutation(np.arange(n_samples) % n_classes)

    for label, motif in enumerate(motifs):
        motif_codes = np.searchsorted(_LETTERS, np.frombuffer(motif.encode(), np.uint8))
        carriers = np.flatnonzero((y == label) & (rng.random_sample(n_samples) < motif_probability))
        copies = np.tile(motif_codes, (carriers.size, 1))
        mutated = rng.random_sample(copies.shape) < mutation_rate
        copies[mutated] = rng.randint(0, 4, size=int(mutated.sum()))
        starts = rng.randint(0, length - len(motif) + 1, size=carriers.size)
        codes[carriers[:, None], starts[:, None] + np.arange(len(motif))] = copies

    rows = _LETTERS[codes].view(f"S{length}").ravel()
    X = [row.decode("ascii") for row in rows]
    return (X, y, motifs) if return_motifs else (X, y)


def _check_motifs(motifs, n_classes, motif_length, length, rng):
    if motifs is None:
        if motif_length > length:
            raise ValueError(
                f"motif_length={motif_length} is longer than length={length}; "
                f"use a shorter motif or longer sequences."
            )
        while True:  # distinct motifs; a repeat is vanishingly rare
            drawn = ["".join(rng.choice(list("ACGT"), motif_length)) for _ in range(n_classes)]
            if len(set(drawn)) == n_classes:
                return drawn
    if len(motifs) != n_classes:
        raise ValueError(
            f"Got {len(motifs)} motifs for n_classes={n_classes}; give one motif per class."
        )
    for index, motif in enumerate(motifs):
        if not isinstance(motif, str) or not motif or set(motif) - set("ACGT"):
            raise ValueError(
                f"Motif {index} ({motif!r}) must be a non-empty string of A, C, G, T."
            )
        if len(motif) > length:
            raise ValueError(
                f"Motif {index} has {len(motif)} bases, more than length={length}."
            )
    return list(motifs)
