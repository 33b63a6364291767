"""Complete models for the estimators: an encoder plus one task head.

Every size is a flat keyword argument, so that skorch's ``module__d_model`` and
friends reach it from a grid search. All models keep the encoder under the name
``encoder``, which is what pretrained weights are copied into.
"""

from torch import nn

from ._encoder import TransformerEncoder, init_weights
from ._config import Count, Dim, Setting
from ._family import ModelFamily, register_family
from ._heads import ClassificationHead, MaskedLMHead, pool
from ._stem import saved_before_stem

__all__ = ["MaskedLMModel", "SequenceClassificationModel", "SequenceRegressionModel", "TRANSFORMER_FAMILY"]


class _EncoderModel(nn.Module):
    def __init__(
        self,
        vocab_size,
        d_model=128,
        n_layers=2,
        n_heads=4,
        d_ff=None,
        dropout=0.1,
        max_length=1024,
        pad_token_id=0,
        pooling="mean",
        conv_kernel_size=9,
    ):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}.")
        #: the encoder's constructor arguments, saved beside pretrained weights
        self.encoder_config = dict(
            vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
            d_ff=d_ff, dropout=dropout, max_length=max_length, pad_token_id=pad_token_id,
            conv_kernel_size=conv_kernel_size,
        )
        self.encoder = TransformerEncoder(**self.encoder_config)
        self.pooling = pooling

    def embed(self, input_ids, attention_mask):
        """One vector per sequence, (B, d_model)."""
        return pool(self.encoder(input_ids, attention_mask), attention_mask, self.pooling)


class SequenceClassificationModel(_EncoderModel):
    """Encoder + pooled classification head: ``forward`` gives (B, n_classes) logits.

    Parameters are those of :class:`TransformerEncoder`, plus ``n_classes`` and
    ``pooling`` (``"mean"`` over real tokens or the ``"cls"`` state).

    Examples
    --------
    >>> import torch
    >>> model = SequenceClassificationModel(vocab_size=9, n_classes=3, d_model=16, n_heads=2)
    >>> ids = torch.tensor([[2, 5, 6, 3, 0]])
    >>> model(ids, ids != 0).shape
    torch.Size([1, 3])
    """

    def __init__(self, vocab_size, n_classes=2, **kwargs):
        super().__init__(vocab_size, **kwargs)
        self.head = ClassificationHead(self.encoder_config["d_model"], n_classes, self.encoder_config["dropout"])
        self.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        return self.head(self.embed(input_ids, attention_mask))


class SequenceRegressionModel(_EncoderModel):
    """Encoder + pooled regression head: ``forward`` gives (B, n_outputs)."""

    def __init__(self, vocab_size, n_outputs=1, **kwargs):
        super().__init__(vocab_size, **kwargs)
        self.head = ClassificationHead(self.encoder_config["d_model"], n_outputs, self.encoder_config["dropout"])
        self.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        return self.head(self.embed(input_ids, attention_mask))


class MaskedLMModel(_EncoderModel):
    """Encoder + masked-LM head: ``forward`` gives (B, L, vocab_size) logits."""

    def __init__(self, vocab_size, **kwargs):
        super().__init__(vocab_size, **kwargs)
        self.head = MaskedLMHead(self.encoder_config["d_model"], vocab_size)
        self.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        return self.head(self.encoder(input_ids, attention_mask))


#: dnatok's own transformer as a model family: any rule-based tokenizer's output
TRANSFORMER_FAMILY = register_family(ModelFamily(
    name="transformer",
    encoder=TransformerEncoder,
    models={"classifier": SequenceClassificationModel, "regressor": SequenceRegressionModel,
            "masked_lm": MaskedLMModel},
    update_config=saved_before_stem,
    settings=dict(
        vocab_size=Setting(int, minimum=1), d_model=Setting(int, minimum=1), n_layers=Setting(int, minimum=0),
        n_heads=Setting(int, minimum=1), d_ff=Setting(int, minimum=1, optional=True),
        dropout=Setting(float, minimum=0, maximum=1), max_length=Setting(int, minimum=1, optional=True),
        pad_token_id=Setting(int, minimum=0), rotary_theta=Setting(float, above=0),
        conv_kernel_size=Setting(int, minimum=0),
    ),
    weight_sizes=dict(
        n_layers=Count(r"blocks\.(\d+)\.", "blocks"),
        vocab_size=Dim("embedding.weight", 0, "embedding rows"),
        d_model=Dim("embedding.weight", 1, "embedding columns"),
    ),
))
