"""MxDNAClassifier and MxDNARegressor: fine-tune a pretrained MxDNA network."""

from dnatok import CharTokenizer
from dnatok.nn import MxDNAClassificationModel

from ._base import starts_with_cls
from ._classifier import SequenceClassifier
from ._regressor import SequenceRegressor

__all__ = ["MxDNAClassifier", "MxDNARegressor"]

_NUCLEOTIDES = CharTokenizer().get_vocab_fingerprint()


class _MxDNAMixin:
    """Start from the tokenizer's network; MxDNA reads single nucleotides only.

    The network arrives with the tokenized sequences (``X.tokenizer``) and is copied
    into ``module_`` when the module is built; it is never stored again here, so a
    fitted pipeline holds the pretrained weights once (in the tokenizer) and the
    fine-tuned ones once (in ``module_``).
    """

    _default_module = MxDNAClassificationModel
    _architecture = "mxdna"

    def __init__(self, module=None, *, pretrained="tokenizer", **kwargs):
        super().__init__(module, pretrained=pretrained, **kwargs)

    def fit(self, X, y=None, **fit_params):
        try:
            return super().fit(X, y, **fit_params)
        finally:
            self.__dict__.pop("pretrained_tokenizer_", None)  # used while building, never kept

    def _remember_vocabulary(self, X):
        name = type(self).__name__
        if X.vocab_fingerprint != _NUCLEOTIDES:
            raise ValueError(
                f"{name} reads single nucleotides, but got {X.tokenizer_name} output. Put an "
                f"MxDNATokenizer first (or a CharTokenizer, with pretrained=None)."
            )
        if not starts_with_cls(X):
            raise ValueError(
                f"{name} reads [CLS] x1 .. xL [SEP], but the {X.tokenizer_name} output has no "
                f"[CLS] first; tokenize with add_special_tokens=True."
            )
        if self._pretrained_from_tokenizer():
            if not hasattr(X.tokenizer, "get_pretrained"):
                raise ValueError(
                    f"{name}(pretrained='tokenizer') starts from the network of the "
                    f"MxDNATokenizer before it, but got {X.tokenizer_name} output. Put an "
                    f"MxDNATokenizer first, or pass pretrained=None to train from scratch on "
                    f"single-nucleotide ids."
                )
            self.pretrained_tokenizer_ = X.tokenizer
        super()._remember_vocabulary(X)

    def _pretrained_source(self):
        if self._pretrained_from_tokenizer():
            if "pretrained_tokenizer_" not in self.__dict__:
                raise ValueError(
                    f"{type(self).__name__}(pretrained='tokenizer') takes its network from the "
                    f"MxDNATokenizer output given to fit; call fit with it."
                )
            return self.pretrained_tokenizer_
        return self.pretrained


class MxDNAClassifier(_MxDNAMixin, SequenceClassifier):
    """Classify DNA with MxDNA, fine-tuning the whole pretrained network.

    Put it after an :class:`dnatok.MxDNATokenizer`::

        make_pipeline(MxDNATokenizer(), MxDNAClassifier())

    It copies the tokenizer's pretrained network (the tokenizer's own weights stay
    as they are) and fine-tunes all of it, the learnt tokenization included, as the
    paper does, with the load-balancing loss added (``aux_loss_weight``). Sizes and
    special-token ids come from the tokenizer. The tokenizer may be unfitted (the
    pipeline pretrains it), fitted, or loaded from a saved folder.
    ``pretrained=None`` trains from scratch (after an MxDNATokenizer or a
    CharTokenizer); a folder path starts from a saved MxDNA model.

    Parameters
    ----------
    pretrained : "tokenizer", str, path-like or None, default="tokenizer"
    aux_loss_weight : float, default=0.01
    **kwargs
        As :class:`SequenceClassifier`; the model is
        ``dnatok.nn.MxDNAClassificationModel`` (``module__pooling`` is
        ``"decoder"``, the authors' head, or ``"cls_direct"``).
    """


class MxDNARegressor(_MxDNAMixin, SequenceRegressor):
    """Regress on DNA with MxDNA, fine-tuning the whole pretrained network.

    As :class:`MxDNAClassifier`, with :class:`SequenceRegressor`'s targets.
    """

    def _module_size_kwargs(self):
        return {"n_classes": self.n_outputs_}  # the MxDNA head has n_classes outputs
