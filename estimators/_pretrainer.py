"""MaskedLMPretrainer: self-supervised masked language modelling on DNA tokens."""

import torch
from skorch.dataset import unpack_data

from dnatok.nn import IGNORE_INDEX, MaskedLMModel, mask_tokens, masked_lm_loss

from ._base import SequenceNet

__all__ = ["MaskedLMPretrainer"]

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
        return masked_lm_loss(y_pred, y_true.to(y_pred.device))

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
