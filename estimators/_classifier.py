"""SequenceClassifier: a transformer classifier over any dnatok tokenization."""

import numbers

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import type_of_target

from dnatok.nn import SequenceClassificationModel
from dnatok.training import SequenceNet

__all__ = ["SequenceClassifier", "check_class_labels"]

_SHOWN_INDICES = 5  # indices named in an error message; the count covers the rest
_INT64 = np.iinfo(np.int64)


def check_class_labels(y):
    """Validate class labels: no missing values, one type, at least two classes.

    Parameters
    ----------
    y : array-like of shape (n_sequences,)
        Class labels, all of one kind: integers (integral floats such as ``1.0``
        count as integers), bools or strings.

    Returns
    -------
    y : ndarray, 1-D
        The labels; numbers given as Python objects (an object array or a list)
        come back as a numeric array.

    Raises
    ------
    ValueError
        Naming the first few offending indices, if a label is missing (``None``,
        NaN of any float type, ``pd.NA``, ``pd.NaT``, or the string ``""`` or
        ``"nan"`` that ``str()`` makes of a missing value), infinite, a number that
        is not an integer (``0.5``: a continuous target, not classes) or an
        integer outside the 64-bit range (``10**30``); if the labels mix types
        (numbers and strings), or if there is a single class.
    """
    # the label types as given: numpy would turn ["a", 1] into two strings
    raw = y.tolist() if hasattr(y, "tolist") else list(y) if not isinstance(y, str) else y
    y = SequenceNet._as_array(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per sequence; got shape {y.shape}.")
    missing = np.flatnonzero(_missing_mask(y))
    if missing.size:
        raise ValueError(
            f"y has {missing.size} missing label(s) (None/NaN), the first at index "
            f"{missing[0]}; drop those sequences{_listed(missing)} or fill their labels."
        )
    if y.dtype.kind in "UO":
        blank = np.flatnonzero(_blank_strings(y))
        if blank.size:
            raise ValueError(
                f"y has {blank.size} empty or 'nan' label string(s), the first at index "
                f"{blank[0]} ({_value(y, blank[0])!r}); drop those sequences{_listed(blank)} or "
                f"fill their labels, before any conversion to strings (str() makes 'nan' of a "
                f"missing number)."
            )
    kinds = {"str" if isinstance(label, str) else "number" if isinstance(label, numbers.Number) else type(label).__name__
             for label in (raw if isinstance(raw, list) else y.tolist())}
    if len(kinds) > 1:
        raise ValueError(
            f"y mixes label types ({', '.join(sorted(kinds))}); use one type for all labels."
        )
    if kinds == {"number"}:
        y = _numeric_labels(y, raw if isinstance(raw, list) else y.tolist())
    if np.unique(y).size < 2:
        raise ValueError(
            f"y has a single class ({y.tolist()[0]!r}); a classifier needs at least two."
        )
    # what sklearn's metrics and stratified splits accept as classes
    target_type = type_of_target(y)
    if target_type not in ("binary", "multiclass"):
        raise ValueError(
            f"y is not a set of class labels (sklearn reads it as {target_type!r}); give "
            f"integers or strings, one per sequence."
        )
    return y


def _missing_mask(y):
    """Which entries of an array are missing: NaN of any float type, None, pd.NA, pd.NaT.

    Vectorised for numeric arrays; an object array is compared element by element
    in numpy's loop (``x != x`` holds for NaN and NaT, ``x == None`` for None), and
    one element at a time in Python only when an element (pd.NA) refuses to be a
    bool.
    """
    if y.dtype.kind in "fc":
        return np.isnan(y)
    if y.dtype != object:
        return np.zeros(y.shape, dtype=bool)
    try:
        with np.errstate(invalid="ignore"):
            return np.asarray((y != y) | (y == None), dtype=bool)  # noqa: E711 (elementwise)
    except (TypeError, ValueError):
        return np.vectorize(_is_missing, otypes=[bool])(y)


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA: "boolean value of NA is ambiguous"
        return True
    except ValueError:  # an array held as one label: not a missing value
        return False


def _blank_strings(y):
    """Labels that are strings and empty, blank or 'nan' (any case)."""
    if y.dtype.kind != "U":  # an object array: its non-strings are checked elsewhere
        y = np.array([label if isinstance(label, str) else "x" for label in y.tolist()], dtype=str)
    strings = y
    if strings.size == 0:
        return np.zeros(0, dtype=bool)
    # comparing short strings: a 'U' array is as wide as its longest label
    folded = np.char.lower(np.char.strip(strings))
    return (folded == "") | (folded == "nan")


def _numeric_labels(y, raw):
    """Numeric class labels as a numeric array, checked to be integers in int64."""
    if y.dtype.kind in "Of":
        # the labels as given: numpy keeps a Python int beyond int64 as an object, or makes
        # a float of it beside numpy ints
        big = np.flatnonzero([isinstance(v, numbers.Integral) and not _INT64.min <= v <= _INT64.max for v in raw])
        if big.size:
            raise ValueError(
                f"y has {big.size} integer label(s) outside the 64-bit range, the first at "
                f"index {big[0]} ({raw[big[0]]!r}); number the classes with small integers "
                f"(np.unique(y, return_inverse=True)[1]) or pass them as strings."
            )
    if y.dtype == object:
        converted = np.array(y.tolist())
        if converted.dtype == object:  # e.g. Decimals: left to the last check
            return y
        y = converted
    if y.dtype.kind in "fc":
        infinite = np.flatnonzero(np.isinf(y))
        if infinite.size:
            raise ValueError(
                f"y has {infinite.size} infinite label(s), the first at index {infinite[0]}; drop "
                f"those sequences{_listed(infinite)} or fix their labels."
            )
        if y.dtype.kind == "c":
            raise ValueError("y holds complex numbers; class labels are integers or strings.")
        fractional = np.flatnonzero(y != np.round(y))
        if fractional.size:
            raise ValueError(
                f"y has {fractional.size} label(s) that are not whole numbers, the first "
                f"{_value(y, fractional[0])!r} at index {fractional[0]}: "
                f"that is a continuous target, not classes. Use SequenceRegressor to predict a "
                f"number, or pass the labels as strings (y.astype(str)) to treat them as classes."
            )
        huge = np.flatnonzero((y < _INT64.min) | (y >= 2.0**63))
        if huge.size:
            raise ValueError(
                f"y has {huge.size} label(s) outside the 64-bit integer range, the first "
                f"{_value(y, huge[0])!r} at index {huge[0]}; number the classes with small integers "
                f"(np.unique(y, return_inverse=True)[1]) or pass them as strings."
            )
    return y


def _listed(indices):
    """``" (indices 3, 7, 9 and 2 more)"`` for an error message; ``""`` for one index."""
    if len(indices) < 2:
        return ""
    shown = ", ".join(str(i) for i in indices[:_SHOWN_INDICES])
    more = len(indices) - _SHOWN_INDICES
    return f" (indices {shown} and {more} more)" if more > 0 else f" (indices {shown})"


def _value(y, index):
    """A label as Python shows it (0.5, not np.float64(0.5))."""
    value = y[index]
    return value.item() if isinstance(value, np.generic) else value


class SequenceClassifier(ClassifierMixin, SequenceNet):
    """Transformer classifier of DNA sequences, for any dnatok tokenizer.

    Put it after a tokenizer: it sizes its embedding from the tokenizer's output.
    Labels are integers or strings (or bools), binary or multi-class; missing,
    infinite and fractional labels are refused (see :func:`check_class_labels`).

    Parameters
    ----------
    See :class:`SequenceNet` for the training parameters. The model is
    :class:`dnatok.nn.SequenceClassificationModel`; set its sizes with
    ``module__d_model``, ``module__n_layers``, ``module__n_heads``,
    ``module__dropout``, ``module__max_length`` and ``module__pooling``
    (``"mean"`` or ``"cls"``).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, in the order of the columns of ``predict_proba``.
    module_ : torch.nn.Module
        The fitted model.
    history_ : skorch.History
        Losses (and learning rates) per epoch and batch.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from dnatok import KmerTokenizer
    >>> from dnatok.datasets import make_motif_classification
    >>> from estimators import SequenceClassifier
    >>> X, y = make_motif_classification(200, length=40, random_state=0)
    >>> model = make_pipeline(
    ...     KmerTokenizer(k=3),
    ...     SequenceClassifier(module__d_model=32, max_epochs=2, random_state=0),
    ... )
    >>> model.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _default_module = SequenceClassificationModel
    _default_criterion = torch.nn.CrossEntropyLoss
    _stratify = True

    def _check_y(self, X, y):
        if y is None:
            raise ValueError("SequenceClassifier.fit needs labels y, one per sequence.")
        self._check_lengths(X, y)
        y = check_class_labels(y)
        self.label_encoder_ = LabelEncoder().fit(y)
        return self.label_encoder_.transform(y).astype(np.int64)

    def _module_size_kwargs(self):
        return {"n_classes": len(self.label_encoder_.classes_)}

    @property
    def classes_(self):
        return self.label_encoder_.classes_

    def predict_proba(self, X):
        """Class probabilities, shape (n_sequences, n_classes)."""
        return super().predict_proba(X)

    def predict(self, X):
        """Predicted labels, of the type given to fit."""
        self.check_is_fitted()
        return self.label_encoder_.inverse_transform(self.predict_proba(X).argmax(axis=1))
