"""SequenceRegressor: a transformer regressor over any dnatok tokenization."""

import numpy as np
import torch
from sklearn.base import RegressorMixin

from dnatok.nn import SequenceRegressionModel
from dnatok.training import SequenceNet

from ._classifier import _listed, _missing_mask

__all__ = ["SequenceRegressor"]


class SequenceRegressor(RegressorMixin, SequenceNet):
    """Transformer regressor of DNA sequences (one or several targets).

    Trained with mean squared error. Parameters as :class:`SequenceNet`; the model
    is :class:`dnatok.nn.SequenceRegressionModel`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from dnatok import CharTokenizer
    >>> from estimators import SequenceRegressor
    >>> X = ["ACGT" * 5, "GGCC" * 5, "ATAT" * 5, "GCGC" * 5]
    >>> y = [0.5, 1.0, 0.0, 1.0]  # GC content
    >>> model = make_pipeline(CharTokenizer(), SequenceRegressor(module__d_model=16, max_epochs=2))
    >>> model.fit(X, y).predict(X).shape
    (4,)
    """

    _default_module = SequenceRegressionModel
    _default_criterion = torch.nn.MSELoss

    def _check_y(self, X, y):
        if y is None:
            raise ValueError("SequenceRegressor.fit needs targets y, one per sequence.")
        self._check_lengths(X, y)
        y = self._as_array(y)
        if np.iscomplexobj(y):
            raise ValueError(
                "y holds complex numbers; a regressor fits real targets. Pass y.real and y.imag "
                "as two columns if both matter."
            )
        if y.dtype == object:
            # None or pd.NA would fail the conversion below as "not numbers"
            missing = np.flatnonzero(_missing_mask(y).reshape(len(y), -1).any(axis=1))
            if missing.size:
                raise ValueError(
                    f"y has {missing.size} missing target(s) (None/NaN), the first at index "
                    f"{missing[0]}; drop those sequences{_listed(missing)} or fill their targets."
                )
        try:
            # float64 first: a finite target too large for float32 is told apart from inf
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError("y must hold numbers for a regressor.") from None
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"y has shape {y.shape}: no target columns. Give at least one target per sequence.")
        missing = np.flatnonzero(~np.isfinite(y).reshape(len(y), -1).all(axis=1))
        if missing.size:
            raise ValueError(
                f"y has {missing.size} missing or infinite target(s), the first at index "
                f"{missing[0]}; drop those sequences{_listed(missing)} or fill their targets."
            )
        too_large = np.flatnonzero((np.abs(y) > np.finfo(np.float32).max).reshape(len(y), -1).any(axis=1))
        if too_large.size:
            raise ValueError(
                f"y has {too_large.size} target(s) beyond float32's range (about 3.4e38), the first at "
                f"index {too_large[0]}; the model trains in float32: rescale the targets (e.g. take "
                f"their log or standardise them)."
            )
        y = y.astype(np.float32)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.target_is_1d_ = y.ndim == 1
        return y.reshape(len(y), self.n_outputs_)

    def _module_size_kwargs(self):
        return {"n_outputs": self.n_outputs_}

    def predict(self, X):
        """Predicted targets, shaped like the y given to fit."""
        predictions = super().predict_proba(X).astype(np.float64)  # skorch: raw module output
        return predictions[:, 0] if self.target_is_1d_ else predictions
