"""MaskedLMPretrainer: self-supervised masked language modelling on DNA tokens."""

import numpy as np
import torch
from skorch.dataset import unpack_data

from dnatok.nn import MaskedLMModel

from ._base import SequenceNet

__all__ = ["MaskedLMPretrainer", "mask_tokens"]

IGNORE_INDEX = -100


def mask_tokens(input_ids, attention_mask, special_token_ids, mask_token_id, vocab_size,
                generator=None, mask_probability=0.15):
    """BERT-style masking: choose tokens, then 80% [MASK], 10% random, 10% unchanged.

    Special tokens and padding are never chosen. Random replacements are drawn from
    the non-special tokens.

    Parameters
    ----------
    input_ids : Tensor (B, L) of int
    attention_mask : Tensor (B, L) of bool
    special_token_ids : sequence of int
    mask_token_id : int
    vocab_size : int
    generator : torch.Generator or None
        Random source (on the CPU); the outputs move to ``input_ids``'s device.
    mask_probability : float, default=0.15

    Returns
    -------
    masked_ids : LongTensor (B, L)
    labels : LongTensor (B, L)
        The original id at chosen positions, -100 elsewhere (ignored by the loss).

    Examples
    --------
    >>> ids = torch.tensor([[2, 5, 6, 7, 8, 3, 0]])
    >>> masked, labels = mask_tokens(ids, ids != 0, [0, 1, 2, 3, 4], 4, 9,
    ...                              torch.Generator().manual_seed(0), mask_probability=1.0)
    >>> labels.tolist()
    [[-100, 5, 6, 7, 8, -100, -100]]
    """
    device = input_ids.device
    ids = input_ids.long().cpu()
    special = torch.as_tensor(sorted(special_token_ids))
    eligible = attention_mask.bool().cpu() & ~torch.isin(ids, special)  # (B, L)
    chosen = eligible & (torch.rand(ids.shape, generator=generator) < mask_probability)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    action = torch.rand(ids.shape, generator=generator)
    normal = torch.as_tensor(np.setdiff1d(np.arange(vocab_size), special.numpy()))
    random_ids = normal[torch.randint(len(normal), ids.shape, generator=generator)]
    masked = torch.where(chosen & (action < 0.8), torch.full_like(ids, mask_token_id), ids)
    masked = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, masked)
    return masked.to(device), labels.to(device)


class MaskedLMPretrainer(SequenceNet):
    """Pretrain a transformer encoder by masked language modelling, without labels.

    15% of the real, non-special tokens of every batch are chosen afresh each
    epoch; of those 80% become [MASK], 10% a random token, 10% stay. The loss is the
    cross-entropy on the chosen tokens. The fitted encoder then starts a
    :class:`SequenceClassifier` or :class:`SequenceRegressor`
    (``pretrained=pretrainer``, or a folder from :meth:`save_pretrained`), and
    ``transform`` gives pooled embeddings for any other model.

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
    _default_criterion = torch.nn.CrossEntropyLoss

    def __init__(self, module=None, *, mask_probability=0.15, **kwargs):
        super().__init__(module, **kwargs)
        self.mask_probability = mask_probability

    def _check_y(self, X, y):
        return None  # self-supervised: labels are ignored

    def initialize(self):
        super().initialize()
        seed = torch.randint(2**31 - 1, (1,)).item()  # from the (seeded) torch state
        self.mask_generator_ = torch.Generator().manual_seed(seed)
        self._validation_seed = seed + 1
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
        logits = self.infer(Xi, **fit_params)
        loss = self.get_loss(logits, labels, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, labels = self._masked_batch(batch, self._validation_generator)
        with torch.no_grad():
            logits = self.infer(Xi, **fit_params)
            loss = self.get_loss(logits, labels, X=Xi, training=False)
        return {"loss": loss, "y_pred": logits}

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        # the same validation masks every epoch, so validation losses are comparable
        self._validation_generator = torch.Generator().manual_seed(self._validation_seed)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Cross-entropy over the chosen tokens only; 0 for a batch with none."""
        y_true = y_true.to(y_pred.device)
        if not (y_true != IGNORE_INDEX).any():
            return y_pred.sum() * 0.0
        return torch.nn.functional.cross_entropy(
            y_pred.flatten(0, 1), y_true.flatten(), ignore_index=IGNORE_INDEX
        )

    def score(self, X, y=None):
        """Masked-token accuracy on X with fixed masks (higher is better)."""
        self.check_is_fitted()
        X = self._check_X(X, fitting=False)
        generator = torch.Generator().manual_seed(self._validation_seed)
        correct = total = 0
        self.module_.eval()
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                Xi, labels = self._masked_batch(batch, generator)
                predicted = self.infer(Xi).argmax(-1).cpu()
                chosen = labels != IGNORE_INDEX
                correct += (predicted[chosen] == labels[chosen]).sum().item()
                total += chosen.sum().item()
        return correct / max(total, 1)
