"""MaskedLMPretrainer: the one masked-language-model trainer, for every model family."""

from numbers import Real

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from skorch.dataset import unpack_data

from ..nn import MaskedLMModel
from ._masking import IGNORE_INDEX, mask_tokens
from ._net import SequenceNet

__all__ = ["MaskedLMPretrainer", "masked_lm_loss"]


def masked_lm_loss(logits, labels, criterion=None):
    """Loss over chosen positions; 0 (with a gradient) when a batch has none.

    ``criterion`` (default: cross-entropy ignoring -100) gets flattened
    ``(n, vocab)`` logits and ``(n,)`` labels.
    """
    if not (labels != IGNORE_INDEX).any():
        return logits.sum() * 0.0
    flat_logits, flat_labels = logits.flatten(0, 1).float(), labels.flatten()
    if criterion is None:
        return F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX)
    return criterion(flat_logits, flat_labels)


class MaskedLMPretrainer(SequenceNet):
    """Pretrain an encoder by masked language modelling, without labels.

    15% of the real, non-special tokens of every batch are chosen afresh each
    epoch; of those 80% become [MASK], 10% a random token, 10% stay. The loss is
    ``criterion`` (cross-entropy by default) on the chosen tokens. Validation uses
    the same masks every epoch, so its losses are comparable. The fitted encoder
    then starts a classifier or regressor (``pretrained=pretrainer``, or a folder
    from :meth:`save_pretrained`), and ``transform`` gives pooled embeddings for
    any other model.

    The module may be any masked-LM model of a registered family:
    ``module=dnatok.nn.MxDNAMaskedLM`` after a ``CharTokenizer`` pretrains MxDNA,
    which is what ``MxDNATokenizer.fit`` runs (its ``pretrainer``).

    Parameters
    ----------
    mask_probability : float, default=0.15
        Fraction of tokens chosen for prediction.
    **kwargs
        As :class:`SequenceNet`; the model is :class:`dnatok.nn.MaskedLMModel`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from dnatok import KmerTokenizer
    >>> from dnatok.datasets import make_motif_classification
    >>> from dnatok.training import MaskedLMPretrainer
    >>> X, y = make_motif_classification(100, length=40, random_state=0)
    >>> embed = make_pipeline(KmerTokenizer(k=3), MaskedLMPretrainer(module__d_model=32, max_epochs=1))
    >>> embed.fit_transform(X).shape
    (100, 32)
    """

    _default_module = MaskedLMModel
    _default_criterion = torch.nn.CrossEntropyLoss

    _parameter_constraints = {
        **SequenceNet._parameter_constraints,
        "mask_probability": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(self, module=None, *, mask_probability=0.15, **kwargs):
        super().__init__(module, **kwargs)
        self.mask_probability = mask_probability

    def _check_y(self, X, y):
        return None  # self-supervised: labels are ignored

    def initialize(self):
        super().initialize()
        seed = torch.randint(2**31 - 1, (1,)).item()  # from the (seeded) torch state
        self.mask_generator_ = torch.Generator().manual_seed(seed)
        self.validation_mask_seed_ = seed + 1
        return self

    def _masked_batch(self, batch, generator):
        Xi, _ = unpack_data(batch)
        input_ids = torch.as_tensor(Xi["input_ids"])
        masked, labels = mask_tokens(
            input_ids, torch.as_tensor(Xi["attention_mask"]), self.special_token_ids_,
            self.mask_token_id_, self.vocab_size_, generator, self.mask_probability,
        )
        return {**Xi, "input_ids": masked}, labels

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, labels = self._masked_batch(batch, self.mask_generator_)
        output = self.infer(Xi, **fit_params)
        loss = self.get_loss(output, labels, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": output}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, labels = self._masked_batch(batch, self.validation_generator_)
        with torch.no_grad():
            output = self.infer(Xi, **fit_params)
            loss = self.get_loss(output, labels, X=Xi, training=False)
        return {"loss": loss, "y_pred": output}

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.validation_generator_ = torch.Generator().manual_seed(self.validation_mask_seed_)

    def _criterion_loss(self, y_pred, y_true):
        """``criterion`` over the chosen tokens only; 0 for a batch with none."""
        return masked_lm_loss(y_pred, y_true.to(y_pred.device), self.criterion_)

    def score(self, X, y=None):
        """Masked-token accuracy on X with fixed masks (higher is better)."""
        self.check_is_fitted()
        X = self._check_X(X, fitting=False)
        generator = torch.Generator().manual_seed(self.validation_mask_seed_)
        correct = total = 0
        self.module_.eval()
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                Xi, labels = self._masked_batch(batch, generator)
                output = self.infer(Xi)
                logits = output[0] if isinstance(output, tuple) else output
                chosen = labels != IGNORE_INDEX
                correct += (logits.argmax(-1).cpu()[chosen] == labels[chosen]).sum().item()
                total += chosen.sum().item()
        return correct / max(total, 1)
