"""MaskedLMPretrainer: self-supervised masked language modelling on DNA tokens."""

from dnatok.nn import MaskedLMModel, MaskedLMTraining

from ._base import SequenceNet

__all__ = ["MaskedLMPretrainer"]


class MaskedLMPretrainer(MaskedLMTraining, SequenceNet):
    """Pretrain an encoder by masked language modelling, without labels.

    15% of the real, non-special tokens of every batch are chosen afresh each
    epoch; of those 80% become [MASK], 10% a random token, 10% stay. The loss is
    ``criterion`` (cross-entropy by default) on the chosen tokens. The fitted
    encoder then starts a :class:`SequenceClassifier` or :class:`SequenceRegressor`
    (``pretrained=pretrainer``, or a folder from :meth:`save_pretrained`), and
    ``transform`` gives pooled embeddings for any other model.

    The module may be any masked-LM model: ``module=dnatok.nn.MxDNAMaskedLM`` after
    a ``CharTokenizer`` pretrains MxDNA (which is what ``MxDNATokenizer.fit`` does).

    Parameters
    ----------
    mask_probability : float, default=0.15
        Fraction of tokens chosen for prediction.
    **kwargs
        As :class:`SequenceNet`; the model is :class:`dnatok.nn.MaskedLMModel`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> from dnatok import KmerTokenizer
    >>> from dnatok.datasets import make_motif_classification
    >>> from estimators import MaskedLMPretrainer
    >>> X, y = make_motif_classification(100, length=40, random_state=0)
    >>> embed = make_pipeline(KmerTokenizer(k=3), MaskedLMPretrainer(module__d_model=32, max_epochs=1))
    >>> embed.fit_transform(X).shape
    (100, 32)
    """

    _default_module = MaskedLMModel
    _parameter_constraints = {
        **SequenceNet._parameter_constraints,
        **MaskedLMTraining._parameter_constraints,
    }
