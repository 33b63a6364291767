"""MxDNAClassifier and MxDNARegressor: fine-tune a pretrained MxDNA network."""

from sklearn.pipeline import make_pipeline

from dnatok import MxDNATokenizer
from dnatok.nn import MxDNAClassificationModel

from ._classifier import SequenceClassifier
from ._recipes import NEURAL, PipelineRecipe, register_recipe
from ._regressor import SequenceRegressor

__all__ = ["MxDNAClassifier", "MxDNARegressor"]

#: the share of a recipe's budget spent pretraining the tokenizer on the task
MXDNA_PRETRAIN_SHARE = 0.2


class _MxDNAMixin:
    """Start from the tokenizer's network by default.

    The network arrives with the tokenized sequences (``X.tokenizer``) and is copied
    into ``module_`` when the module is built; it is never stored again here, so a
    fitted pipeline holds the pretrained weights once (in the tokenizer) and the
    fine-tuned ones once (in ``module_``). What MxDNA reads (single nucleotides,
    [CLS] first) its model family checks.
    """

    _default_module = MxDNAClassificationModel

    def __init__(self, module=None, *, pretrained="tokenizer", **kwargs):
        super().__init__(module, pretrained=pretrained, **kwargs)

    def _load_pretrained_head(self, pretrained):
        """Refuse a fine-tuned head behind another pooling than the one it learned with.

        A released fine-tuned MxDNA classifier (and one dnatok saved with
        ``module__pooling="decoder"``) carries its decoder beside its task head; the
        head reads that decoder's output, so under the default mean pooling it would
        load and predict nonsense without a word.
        """
        head = pretrained.head_state_dict or {}
        own_head = {f"head.{key}": value for key, value in self.module_.head.state_dict().items()}
        has_task_head = all(key in head and head[key].shape == value.shape for key, value in own_head.items())
        pooling = getattr(self.module_, "pooling", None)
        if has_task_head and any(key.startswith("decoder.") for key in head) and pooling != "decoder":
            raise ValueError(
                f"The pretrained weights hold a fine-tuned classification head that reads MxDNA's decoder "
                f"pooling, but this {type(self).__name__} pools with module__pooling={pooling!r}. "
                f"Set module__pooling='decoder' to use that head as it was trained."
            )
        super()._load_pretrained_head(pretrained)


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
        ``dnatok.nn.MxDNAClassificationModel`` (``module__pooling`` is ``"mean"``,
        the mean of the token states, which starts learning sooner and costs less
        per step, ``"decoder"``, the authors' head, or ``"cls_direct"``).
    """


class MxDNARegressor(_MxDNAMixin, SequenceRegressor):
    """Regress on DNA with MxDNA, fine-tuning the whole pretrained network.

    As :class:`MxDNAClassifier`, with :class:`SequenceRegressor`'s targets.
    """

    def _module_size_kwargs(self):
        return {"n_classes": self.n_outputs_}  # the MxDNA head has n_classes outputs


def _mxdna_pipeline(max_time, device):
    """Pretrain the tokenizer on the task for a fifth of the budget, fine-tune for the rest."""
    pretrain = max_time * MXDNA_PRETRAIN_SHARE
    tokenizer = MxDNATokenizer().set_params(
        pretrainer__max_time=pretrain, pretrainer__max_epochs=NEURAL["max_epochs"], pretrainer__device=device)
    return make_pipeline(tokenizer, MxDNAClassifier(max_time=max_time - pretrain, device=device, **NEURAL))


register_recipe(PipelineRecipe(
    "mxdna", "MxDNATokenizer (pretrained on the task for 20% of the budget) + MxDNAClassifier", _mxdna_pipeline))
