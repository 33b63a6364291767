"""SequenceClassifier: a transformer classifier over any dnatok tokenization."""

import numbers

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder

from dnatok.nn import SequenceClassificationModel
from dnatok.training import SequenceNet

__all__ = ["SequenceClassifier", "check_class_labels"]


def check_class_labels(y):
    """Validate class labels: no missing values, one type, at least two classes.

    Returns
    -------
    y : ndarray, 1-D
    """
    # the label types as given: numpy would turn ["a", 1] into two strings
    raw = y.tolist() if hasattr(y, "tolist") else list(y) if not isinstance(y, str) else y
    y = SequenceNet._as_array(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per sequence; got shape {y.shape}.")
    missing = [i for i, label in enumerate(y.tolist()) if label is None or (isinstance(label, float) and label != label)]
    if missing:
        raise ValueError(
            f"y has {len(missing)} missing label(s) (None/NaN), the first at index "
            f"{missing[0]}; drop those sequences or fill their labels."
        )
    kinds = {"str" if isinstance(label, str) else "number" if isinstance(label, numbers.Number) else type(label).__name__
             for label in (raw if isinstance(raw, list) else y.tolist())}
    if len(kinds) > 1:
        raise ValueError(
            f"y mixes label types ({', '.join(sorted(kinds))}); use one type for all labels."
        )
    if np.unique(y).size < 2:
        raise ValueError(
            f"y has a single class ({y.tolist()[0]!r}); a classifier needs at least two."
        )
    return y


class SequenceClassifier(ClassifierMixin, SequenceNet):
    """Transformer classifier of DNA sequences, for any dnatok tokenizer.

    Put it after a tokenizer: it sizes its embedding from the tokenizer's output.
    Labels may be of any type (ints, strings); binary and multi-class.

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
