"""MxDNAClassifier and MxDNARegressor: fine-tune a pretrained MxDNA network."""

from dnatok.nn import MxDNAClassificationModel

from ._classifier import SequenceClassifier
from ._regressor import SequenceRegressor

__all__ = ["MxDNAClassifier", "MxDNARegressor"]


class _MxDNAMixin:
    """Start from the tokenizer's network; add MxDNA's load-balancing loss."""

    _default_module = MxDNAClassificationModel
    _architecture = "mxdna"

    def __init__(self, module=None, *, pretrained="tokenizer", aux_loss_weight=0.01, **kwargs):
        super().__init__(module, pretrained=pretrained, **kwargs)
        self.aux_loss_weight = aux_loss_weight

    def _remember_vocabulary(self, X):
        if self.pretrained == "tokenizer" and not hasattr(X.tokenizer, "get_pretrained"):
            raise ValueError(
                f"{type(self).__name__}(pretrained='tokenizer') starts from the network of "
                f"the MxDNATokenizer before it, but got {X.tokenizer_name} output. Put an "
                f"MxDNATokenizer first, or pass pretrained=None to train from scratch on "
                f"single-nucleotide ids."
            )
        super()._remember_vocabulary(X)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The task loss plus ``aux_loss_weight`` times the load balancing (training)."""
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        aux_loss = getattr(self.module_, "aux_loss", None)
        if training and aux_loss is not None and self.aux_loss_weight:
            loss = loss + self.aux_loss_weight * aux_loss
        return loss


class MxDNAClassifier(_MxDNAMixin, SequenceClassifier):
    """Classify DNA with MxDNA, fine-tuning the whole pretrained network.

    Put it after an :class:`dnatok.MxDNATokenizer`::

        make_pipeline(MxDNATokenizer(), MxDNAClassifier())

    It copies the tokenizer's pretrained encoder (the tokenizer's own weights stay
    as they are) and fine-tunes all of it, the learnt tokenization included, as the
    paper does, with the load-balancing loss added (``aux_loss_weight``). The
    tokenizer may be unfitted (the pipeline pretrains it), fitted, or loaded from
    a saved folder. ``pretrained=None`` trains from scratch; a folder path starts
    from a saved MxDNA model.

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
