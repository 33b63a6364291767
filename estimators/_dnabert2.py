"""DNABERT-2 estimators: embed, classify, regress and continue masked-LM training
from the released DNABERT-2-117M (or any DNABERT-2 folder).

Tokenize with the model's own BPE vocabulary::

    make_pipeline(BPETokenizer(pretrained=DNABERT2), DNABERT2Embedder(), LogisticRegression())
    make_pipeline(BPETokenizer(pretrained=DNABERT2), DNABERT2Classifier())

where ``DNABERT2 = "zhihan1996/DNABERT-2-117M"`` (downloaded once; needs
``pip install "dnatok[hub]"``) or a local folder in the hub layout.
"""

from dnatok.nn import DNABERT2ClassificationModel, DNABERT2MaskedLM, DNABERT2Model, DNABERT2RegressionModel
from dnatok.training import MaskedLMPretrainer, SequenceNet

from ._classifier import SequenceClassifier
from ._regressor import SequenceRegressor

__all__ = ["DNABERT2", "DNABERT2Classifier", "DNABERT2Embedder", "DNABERT2Pretrainer", "DNABERT2Regressor"]

#: the released model on the Hugging Face hub
DNABERT2 = "zhihan1996/DNABERT-2-117M"


class _DNABERT2Mixin:
    """Default to the released weights (the model family, DNABERT-2, comes with the module)."""

    # the weights come first: DNABERT2Classifier("path/to/folder") reads as it should;
    # lr 3e-5 is the paper's fine-tuning rate (1e-3 would undo a 117M-parameter pretraining)
    def __init__(self, pretrained=DNABERT2, *, module=None, lr=3e-5, **kwargs):
        super().__init__(module, pretrained=pretrained, lr=lr, **kwargs)


class DNABERT2Embedder(_DNABERT2Mixin, SequenceNet):
    """Sequence embeddings from a pretrained DNABERT-2, as a transformer step.

    ``fit`` loads the model and checks that the tokens come from its vocabulary;
    it trains nothing. ``transform`` gives one ``d_model`` vector per sequence.

    Parameters
    ----------
    pretrained : str, path-like or fitted estimator, default="zhihan1996/DNABERT-2-117M"
        A hub id, a folder in the hub layout or saved by ``save_pretrained``.
    module__pooling : {"mean", "max", "cls"}, default="mean"
        Mean or max over the real tokens ([CLS] and [SEP] included, as the
        DNABERT-2 README does), or the [CLS] state.
    **kwargs
        As :class:`SequenceNet` (``batch_size``, ``device`` and ``mixed_precision``
        matter here).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> from dnatok import BPETokenizer
    >>> from estimators import DNABERT2, DNABERT2Embedder
    >>> embed_and_classify = make_pipeline(  # doctest: +SKIP
    ...     BPETokenizer(pretrained=DNABERT2), DNABERT2Embedder(), LogisticRegression())
    """

    _default_module = DNABERT2Model

    def fit(self, X, y=None, **fit_params):
        """Load the pretrained model for the tokenized sequences X (no training)."""
        X, _ = self._prepare_fit(X, None)
        if self.pretrained is None:
            raise ValueError(
                "DNABERT2Embedder(pretrained=None) would embed with random weights; give a "
                "DNABERT-2 folder or hub id, or train a model first (DNABERT2Pretrainer)."
            )
        with self._seeded():
            self.initialize()
        self._check_width(X)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """As :meth:`fit`: an embedder does not train."""
        return self.fit(X, y)

    def _check_y(self, X, y):
        return None

    def initialize_criterion(self):
        """No loss: nothing is trained."""
        self.criterion_ = None
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags


class DNABERT2Classifier(_DNABERT2Mixin, SequenceClassifier):
    """Fine-tune DNABERT-2 to classify sequences.

    The whole network is trained, as in the DNABERT-2 paper's GUE fine-tuning.
    ``module__pooling`` is ``"mean"`` over real tokens by default; ``"pooler"`` is
    the official ``BertForSequenceClassification`` head (``tanh(dense([CLS]))``), which
    a folder holding a fine-tuned classifier fills with its own pooler and classifier.
    Training parameters as :class:`SequenceClassifier`, with ``lr=3e-5`` by default (the
    paper's fine-tuning rate; the other estimators' 1e-3 is for training from scratch).
    """

    _default_module = DNABERT2ClassificationModel


class DNABERT2Regressor(_DNABERT2Mixin, SequenceRegressor):
    """Fine-tune DNABERT-2 on numeric targets; as :class:`DNABERT2Classifier`."""

    _default_module = DNABERT2RegressionModel


class DNABERT2Pretrainer(_DNABERT2Mixin, MaskedLMPretrainer):
    """Continue DNABERT-2's masked-LM training on your own sequences.

    Starts from the released encoder and masked-LM head (decoder tied to the token
    embeddings); the fitted model then starts a :class:`DNABERT2Classifier`
    (``pretrained=pretrainer``) or embeds through ``transform``.
    """

    _default_module = DNABERT2MaskedLM
