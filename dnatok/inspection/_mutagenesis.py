"""In-silico mutagenesis of any fitted estimator that reads DNA strings."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from .._sequences import BASES, check_sequences, encode_bases, sequence_lengths

__all__ = ["in_silico_mutagenesis"]

_LETTERS = np.frombuffer(BASES.encode(), dtype=np.uint8)
_RESPONSES = ("auto", "predict_proba", "decision_function", "predict")
# bases written per batch at most: long sequences get fewer mutants per call, so memory
# (the mutants and what the model makes of them) does not grow with the length
_MAX_BATCH_BASES = 2**21


def in_silico_mutagenesis(estimator, X, *, response="auto", target=None, positions=None, batch_size=1024,
                          verbose=False):
    """The change of a fitted model's response for every substitution at every position.

    Every position of every sequence is changed to each of the three other bases,
    one at a time; the mutants are written with numpy (one buffer per batch, no
    Python work per base) and scored in batches of at most ``batch_size`` mutants
    and about 2 million bases, so memory stays bounded whatever the length. Works
    for any estimator or pipeline whose ``fit`` took a list of DNA strings: k-mer
    counts + logistic regression, a dnatok neural pipeline (scored as its
    ``predict_proba`` scores, in inference mode), anything else.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Takes a list of DNA strings.
    X : list of str
        The sequences to mutate (A, C, G, T, N in either case; N positions are not
        mutated).
    response : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        What is scored: "auto" is ``predict_proba`` where the estimator has it,
        else ``decision_function``, else ``predict`` (a regressor's number).
    target : class label, "predicted", int or None, default=None
        Which output is scored, for a classifier: None is the positive class of a
        binary one (``classes_[1]``; a multi-class one needs a target); a class
        label scores that class's probability or decision value in every
        sequence; ``"predicted"`` scores each sequence on the class predicted for
        it (unmutated), so effects say what supports each prediction. For a
        multi-output regressor, the output's index.
    positions : array-like of int or None, default=None
        0-based positions to mutate in every sequence (those past a sequence's
        end are skipped); None mutates all.
    batch_size : int, default=1024
        Mutants scored per call to the estimator; fewer for sequences over 2 kb,
        so that a call holds at most about 2 million bases.
    verbose : bool, default=False
        Show a progress bar over the batches (tqdm).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        effects : ndarray of shape (n_sequences, max_length, 4)
            Response of the mutant minus that of the sequence, for each position
            and base (``A C G T``); 0 at the reference base, NaN where nothing
            was mutated (past a sequence's end, N, positions not asked for).
        importance : ndarray of shape (n_sequences, max_length)
            Minus the mean effect of the three substitutions: how much the
            reference base supports the response (positive) or works against it.
        reference : ndarray of shape (n_sequences,)
            The response of each unmutated sequence.
        response, target : str
            The method scored, and the target (per sequence for ``"predicted"``:
            ``target`` then holds the classes).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from dnatok import KmerTokenizer
    >>> from dnatok.datasets import make_motif_classification
    >>> X, y = make_motif_classification(200, length=40, motifs=["TTTTTTTT", "GCGCGCGC"], random_state=0)
    >>> model = make_pipeline(KmerTokenizer(k=3, output="counts"), LogisticRegression(max_iter=1000)).fit(X, y)
    >>> result = in_silico_mutagenesis(model, X[:2])
    >>> result.effects.shape, result.importance.shape
    ((2, 40, 4), (2, 40))
    """
    if response not in _RESPONSES:
        raise ValueError(f"response must be one of {', '.join(map(repr, _RESPONSES))}; got {response!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    check_is_fitted(estimator)
    sequences = check_sequences(X)
    lengths = sequence_lengths(sequences)
    codes, offsets = encode_bases(sequences, lengths=lengths)  # unknown letters: refused by name
    raw = np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)
    method = _response_method(estimator, response)
    scores = _scores(estimator, method, sequences)
    column, target = _target_column(estimator, method, scores, target)
    reference = _pick(scores, column, np.arange(len(sequences)), method)

    # every site to mutate, as a flat index into the concatenated sequences
    owner = np.repeat(np.arange(len(sequences)), lengths)  # sequence of each flat index
    position = np.arange(codes.size) - offsets[owner]
    mutable = codes < 4
    if positions is not None:
        mutable &= np.isin(position, _check_positions(positions))
    sites = np.flatnonzero(mutable)
    effects = np.full((len(sequences), int(lengths.max(initial=0)), 4), np.nan)
    effects[owner[sites], position[sites], codes[sites]] = 0.0

    n_mutants = 3 * sites.size
    batch_size = max(1, min(batch_size, _MAX_BATCH_BASES // max(int(lengths.max(initial=1)), 1)))
    starts = range(0, n_mutants, batch_size)
    if verbose:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="mutants", unit="batch")
    for start in starts:
        mutant = np.arange(start, min(start + batch_size, n_mutants))
        site = sites[mutant // 3]
        rows, base = owner[site], (codes[site] + 1 + mutant % 3) % 4  # the three other bases
        texts = _mutant_texts(raw, offsets, lengths, rows, position[site], base)
        mutant_scores = _pick(_scores(estimator, method, texts), column, rows, method)
        effects[rows, position[site], base] = mutant_scores - reference[rows]
    importance = -np.nansum(effects, axis=2) / 3
    importance[np.isnan(effects).all(axis=2)] = np.nan
    return Bunch(effects=effects, importance=importance, reference=reference, response=method, target=target)


def _check_positions(positions):
    positions = np.asarray(positions)
    if positions.ndim != 1 or not np.issubdtype(positions.dtype, np.integer) or (positions < 0).any():
        raise ValueError(
            f"positions must be a 1-D array of non-negative ints (0-based positions to mutate in "
            f"every sequence), or None for all; got {positions!r}."
        )
    return positions


def _mutant_texts(raw, offsets, lengths, rows, positions, bases):
    """The mutant sequences as str: each row's sequence with one base replaced.

    Built per sequence length (usually one per batch), as a (b, L) byte array."""
    texts = np.empty(rows.size, dtype=object)
    row_lengths = lengths[rows]
    for length in np.unique(row_lengths):
        chosen = np.flatnonzero(row_lengths == length)
        block = raw[offsets[rows[chosen], None] + np.arange(length)]  # (b, L) copies
        block[np.arange(chosen.size), positions[chosen]] = _LETTERS[bases[chosen]]
        texts[chosen] = [row.decode("ascii") for row in block.view(f"S{max(length, 1)}").ravel()]
    return texts.tolist()


def _response_method(estimator, response):
    if response == "auto":
        for name in ("predict_proba", "decision_function", "predict"):
            if hasattr(estimator, name):
                return name
    if not hasattr(estimator, response):
        raise ValueError(
            f"{type(estimator).__name__} has no {response}; use response='auto' or one of the "
            f"methods it has."
        )
    if response == "predict" and is_classifier(estimator):
        raise ValueError(
            f"{type(estimator).__name__} is a classifier: its predict returns class labels, which "
            f"have no size of effect; use response='predict_proba' or 'decision_function'."
        )
    return response


def _scores(estimator, method, sequences):
    scores = np.asarray(getattr(estimator, method)(sequences))
    if not np.issubdtype(scores.dtype, np.number) or scores.dtype == bool:
        raise ValueError(
            f"{type(estimator).__name__}.{method} returns {scores.dtype} values (class labels?), which "
            f"have no size of effect; use response='predict_proba' or 'decision_function' for a "
            f"classifier."
        )
    return scores.astype(np.float64)


def _target_column(estimator, method, scores, target):
    """(column index: None, an int, or one per sequence; the target as described)."""
    classes = getattr(estimator, "classes_", None)
    if scores.ndim == 1:
        if target is None:
            return None, None if classes is None else classes[-1]
        if isinstance(target, str) and target == "predicted" and classes is not None and len(classes) == 2:
            # one decision value for two classes: class 0 is supported where it is negative
            return np.where(scores > 0, 1, -1), classes
        if classes is not None and len(classes) == 2 and target in list(classes):
            return (1 if target == classes[1] else -1), target
        raise ValueError(f"{method} gives one score per sequence; target must be None, got {target!r}.")
    if isinstance(target, str) and target == "predicted":
        return scores.argmax(axis=1), classes
    if classes is not None:
        if target is None:
            if len(classes) == 2:
                return 1, classes[1]
            raise ValueError(
                f"The classifier has {len(classes)} classes; say which one to score with target= "
                f"(one of {np.asarray(classes).tolist()}, or 'predicted' for each sequence's predicted class)."
            )
        matches = np.flatnonzero(np.asarray(classes) == target)
        if matches.size != 1:
            raise ValueError(f"target={target!r} is not one of the classes {np.asarray(classes).tolist()}.")
        return int(matches[0]), target
    if isinstance(target, (int, np.integer)) and 0 <= target < scores.shape[1]:
        return int(target), target
    raise ValueError(
        f"{method} gives {scores.shape[1]} outputs per sequence; target must be an output index "
        f"0..{scores.shape[1] - 1}, got {target!r}."
    )


def _pick(scores, column, rows, method):
    """One score per row: the target column (or its sign, for a binary decision value)."""
    if scores.ndim == 1:
        return scores if column is None else scores * (column if np.isscalar(column) else column[rows])
    if np.isscalar(column):
        return scores[:, column]
    return scores[np.arange(len(rows)), column[rows]]
