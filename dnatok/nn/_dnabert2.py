"""DNABERT-2: a post-LayerNorm BERT with ALiBi attention and GeGLU feed-forward layers.

The encoder DNABERT-2-117M was released with (Zhou et al., 2023; the MosaicBERT
layers of its hub repository), written with ``scaled_dot_product_attention`` so it
runs on any device without triton, flash-attn or ``transformers``. Computes what
the official PyTorch path computes (``tests/test_reference_models.py`` checks it
against outputs of the authors' code): no position embeddings, a symmetric ALiBi
bias ``-m_h |i - j|`` on the attention scores, exact-erf GELU in the gated
feed-forward layer, LayerNorm after each residual, and 0.0 at padded positions.

Module names are dnatok's; :func:`load_dnabert2` maps the hub's keys, and the
family is registered here (``DNABERT2_FAMILY``).
"""

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .._bpe import _fingerprint, _load
from ._config import Count, Dim, Setting, check_config, check_encoder_weights, few
from ._encoder import init_weights
from ._family import ModelFamily, register_family
from ._heads import pool
from ._weights import PretrainedWeights, read_config, read_weights, released_weights_file, rename_key, weight_shapes

__all__ = [
    "DNABERT2ClassificationModel",
    "DNABERT2Encoder",
    "DNABERT2Model",
    "DNABERT2MaskedLM",
    "DNABERT2RegressionModel",
    "DNABERT2_FAMILY",
    "alibi_slopes",
    "dnabert2_encoder_config",
    "load_dnabert2",
    "map_dnabert2_keys",
]

# the official code adds this to the scores of padded keys (not -inf): exp() of it
# is exactly 0 in float32, and a row without any real key stays finite
_PADDING_BIAS = -10000.0


def alibi_slopes(n_heads):
    """ALiBi slope of each head, as the official code sets them.

    For a power of two n: ``2 ** (-8 (h + 1) / n)``; otherwise the slopes of the
    largest power of two c below n, then every other slope of 2c.

    Returns
    -------
    Tensor (n_heads,) float32

    Examples
    --------
    >>> alibi_slopes(4).tolist()
    [0.25, 0.0625, 0.015625, 0.00390625]
    """

    def power_of_two(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]

    if math.log2(n_heads).is_integer():
        slopes = power_of_two(n_heads)
    else:
        closest = 2 ** math.floor(math.log2(n_heads))
        slopes = power_of_two(closest) + power_of_two(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(slopes, attention_mask):
    """Additive attention bias: ALiBi distances plus the padded-key bias.

    Shapes: slopes (H,), attention_mask (B, L) -> (B, H, L, L).
    """
    L = attention_mask.shape[1]
    positions = torch.arange(L, device=attention_mask.device)
    distance = (positions[None, :] - positions[:, None]).abs().float()  # (L, L)
    bias = -slopes.to(attention_mask.device)[:, None, None] * distance  # (H, L, L)
    padding = (1.0 - attention_mask.float()) * _PADDING_BIAS  # (B, L)
    return bias[None] + padding[:, None, None, :]  # (B, H, L, L)


class ALiBiSelfAttention(nn.Module):
    """Self-attention with a fused q/k/v projection (with biases) and an additive bias."""

    def __init__(self, d_model, n_heads, attention_dropout=0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}.")
        self.n_heads = n_heads
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.output = nn.Linear(d_model, d_model)

    def forward(self, x, bias):
        """Shapes: x (B, L, d), bias (B, H, L, L) -> (B, L, d)."""
        B, L, d = x.shape
        qkv = self.qkv(x).view(B, L, 3, self.n_heads, d // self.n_heads)  # (B, L, 3, H, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, L, hd)
        dropout = self.attention_dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=dropout)
        return self.output(attended.transpose(1, 2).reshape(B, L, d))  # (B, L, d)


class GeGLU(nn.Module):
    """``wo(dropout(GELU(gate) * value))``; gate and value from one bias-free projection."""

    def __init__(self, d_model, d_ff, dropout=0.0):
        super().__init__()
        self.gated = nn.Linear(d_model, 2 * d_ff, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.wo = nn.Linear(d_ff, d_model)

    def forward(self, x):
        gate, value = self.gated(x).chunk(2, dim=-1)  # gate first, as the official rows
        return self.wo(self.dropout(F.gelu(gate) * value))


class PostNormBlock(nn.Module):
    """BERT layer: ``x = LN(x + attention(x)); x = LN(x + GeGLU(x))``."""

    def __init__(self, d_model, n_heads, d_ff, dropout=0.1, attention_dropout=0.0, norm_eps=1e-12):
        super().__init__()
        self.attention = ALiBiSelfAttention(d_model, n_heads, attention_dropout)
        self.attention_dropout = nn.Dropout(dropout)
        self.attention_norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.feed_forward = GeGLU(d_model, d_ff, dropout)
        self.feed_forward_norm = nn.LayerNorm(d_model, eps=norm_eps)

    def forward(self, x, bias):
        x = self.attention_norm(x + self.attention_dropout(self.attention(x, bias)))
        return self.feed_forward_norm(x + self.feed_forward(x))


class DNABERT2Encoder(nn.Module):
    """The DNABERT-2 encoder: token (+ token type) embeddings, LayerNorm, post-LN layers.

    The defaults are DNABERT-2-117M's sizes. No length limit: ALiBi needs no
    position table.

    Parameters
    ----------
    vocab_size : int, default=4096
    d_model : int, default=768
    n_layers : int, default=12
    n_heads : int, default=12
    d_ff : int, default=3072
        Width of the gated feed-forward layer (its projection is twice this).
    dropout : float, default=0.1
        After the embeddings, the attention output and the gated product.
    attention_dropout : float, default=0.0
        On the attention probabilities.
    type_vocab_size : int, default=2
    norm_eps : float, default=1e-12
    pad_token_id : int, default=3
        Only recorded: the official embedding has no padding row, and padded
        positions never reach a real token.

    Examples
    --------
    >>> import torch
    >>> encoder = DNABERT2Encoder(vocab_size=10, d_model=16, n_layers=1, n_heads=4, d_ff=32)
    >>> ids = torch.tensor([[1, 5, 6, 2, 3]])
    >>> encoder(ids, ids != 3).shape
    torch.Size([1, 5, 16])
    """

    def __init__(
        self,
        vocab_size=4096,
        d_model=768,
        n_layers=12,
        n_heads=12,
        d_ff=3072,
        dropout=0.1,
        attention_dropout=0.0,
        type_vocab_size=2,
        norm_eps=1e-12,
        pad_token_id=3,
    ):
        super().__init__()
        self.pad_token_id = pad_token_id
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.token_type_embedding = nn.Embedding(type_vocab_size, d_model)
        self.embedding_norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            PostNormBlock(d_model, n_heads, d_ff, dropout, attention_dropout, norm_eps) for _ in range(n_layers)
        )
        self.register_buffer("slopes", alibi_slopes(n_heads), persistent=False)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Shapes: input_ids (B, L) int, attention_mask (B, L) -> (B, L, d), 0 at padding."""
        input_ids = input_ids.long()
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embedding(input_ids) + self.token_type_embedding(token_type_ids.long())  # (B, L, d)
        x = self.dropout(self.embedding_norm(x))
        bias = alibi_bias(self.slopes, attention_mask)  # (B, H, L, L)
        for block in self.blocks:
            x = block(x, bias)
        # the official code drops padded rows before its layers and puts zeros back
        return x.masked_fill(~attention_mask.bool()[..., None], 0.0)


_POOLINGS = ("mean", "max", "cls", "pooler")


class DNABERT2Model(nn.Module):
    """DNABERT-2 encoder with pooling: ``forward`` gives one (B, d_model) vector per sequence.

    ``pooling``: ``"mean"`` (default) or ``"max"`` over the real tokens, [CLS] and
    [SEP] included, as DNABERT-2's README embeds sequences; ``"cls"``, the [CLS]
    state; ``"pooler"``, the official ``BertModel`` pooled output
    ``tanh(dense(h[CLS]))``. Other arguments are :class:`DNABERT2Encoder`'s.
    """

    def __init__(self, vocab_size=4096, pooling="mean", **encoder_kwargs):
        super().__init__()
        if pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(map(repr, _POOLINGS))}, got {pooling!r}.")
        #: the encoder's constructor arguments, saved beside pretrained weights
        self.encoder_config = dict(vocab_size=vocab_size, **encoder_kwargs)
        self.encoder = DNABERT2Encoder(**self.encoder_config)
        self.d_model = self.encoder.embedding.embedding_dim
        self.pooling = pooling
        # the official BertModel's pooler: tanh(dense(h[CLS])); built only when read
        self.pooler = nn.Linear(self.d_model, self.d_model) if pooling == "pooler" else None
        self.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        return self.embed(input_ids, attention_mask)

    def embed(self, input_ids, attention_mask):
        """One vector per sequence, (B, d_model), pooled as ``pooling`` says."""
        hidden = self.encoder(input_ids, attention_mask)  # (B, L, d)
        if self.pooler is not None:
            return torch.tanh(self.pooler(hidden[:, 0]))
        return pool(hidden, attention_mask, self.pooling)


class DNABERT2ClassificationModel(DNABERT2Model):
    """DNABERT-2 encoder + ``Linear(dropout(pooled))``: (B, n_classes) logits.

    ``pooling="pooler"`` is the official ``BertForSequenceClassification``
    (``tanh(dense(h[CLS]))``, then the classifier); ``"mean"`` (default), ``"max"``
    and ``"cls"`` read the final states of the real tokens, as DNABERT-2's README
    embeds sequences.

    Examples
    --------
    >>> import torch
    >>> model = DNABERT2ClassificationModel(10, n_classes=3, d_model=16, n_layers=1, n_heads=4, d_ff=32)
    >>> ids = torch.tensor([[1, 5, 6, 2, 3]])
    >>> model(ids, ids != 3).shape
    torch.Size([1, 3])
    """

    def __init__(self, vocab_size=4096, n_classes=2, pooling="mean", classifier_dropout=None, **encoder_kwargs):
        super().__init__(vocab_size, pooling, **encoder_kwargs)
        dropout = self.encoder_config.get("dropout", 0.1) if classifier_dropout is None else classifier_dropout
        self.head_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.d_model, n_classes)
        self.head.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        return self.head(self.head_dropout(self.embed(input_ids, attention_mask)))


class DNABERT2RegressionModel(DNABERT2ClassificationModel):
    """DNABERT-2 encoder + ``Linear(dropout(pooled))``: (B, n_outputs)."""

    def __init__(self, vocab_size=4096, n_outputs=1, **kwargs):
        super().__init__(vocab_size, n_classes=n_outputs, **kwargs)


class DNABERT2MaskedLM(DNABERT2Model):
    """DNABERT-2 encoder + its masked-LM head, the decoder tied to the token embeddings.

    Head: ``LN(GELU(dense(h))) @ E.T + bias`` (LayerNorm eps 1e-12, which the
    official head hard-codes): (B, L, vocab_size) logits.
    """

    def __init__(self, vocab_size=4096, pooling="mean", **encoder_kwargs):
        super().__init__(vocab_size, pooling, **encoder_kwargs)
        self.transform = nn.Linear(self.d_model, self.d_model)
        self.transform_norm = nn.LayerNorm(self.d_model, eps=1e-12)
        self.decoder_bias = nn.Parameter(torch.zeros(vocab_size))
        self.transform.apply(init_weights)

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids, attention_mask)  # (B, L, d)
        hidden = self.transform_norm(F.gelu(self.transform(hidden)))
        return F.linear(hidden, self.encoder.embedding.weight, self.decoder_bias)  # (B, L, V)


# -- the released checkpoint ----------------------------------------------------------

# official key (after the "bert." prefix) -> dnatok encoder key
_ENCODER_KEYS = [
    (r"embeddings\.word_embeddings\.(\w+)", r"embedding.\1"),
    (r"embeddings\.token_type_embeddings\.(\w+)", r"token_type_embedding.\1"),
    (r"embeddings\.LayerNorm\.(\w+)", r"embedding_norm.\1"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.Wqkv\.(\w+)", r"blocks.\1.attention.qkv.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(\w+)", r"blocks.\1.attention.output.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(\w+)", r"blocks.\1.attention_norm.\2"),
    (r"encoder\.layer\.(\d+)\.mlp\.gated_layers\.(\w+)", r"blocks.\1.feed_forward.gated.\2"),
    (r"encoder\.layer\.(\d+)\.mlp\.wo\.(\w+)", r"blocks.\1.feed_forward.wo.\2"),
    (r"encoder\.layer\.(\d+)\.mlp\.layernorm\.(\w+)", r"blocks.\1.feed_forward_norm.\2"),
]
# official key -> key of a dnatok DNABERT-2 model outside its encoder
_HEAD_KEYS = [
    (r"(?:bert\.)?pooler\.dense\.(\w+)", r"pooler.\1"),
    (r"classifier\.(\w+)", r"head.\1"),
    (r"cls\.predictions\.transform\.dense\.(\w+)", r"transform.\1"),
    (r"cls\.predictions\.transform\.LayerNorm\.(\w+)", r"transform_norm.\1"),
    (r"cls\.predictions\.decoder\.bias", r"decoder_bias"),
]
# the decoder weight is the embedding matrix (tied); the hub .bin stores it twice
_TIED = "cls.predictions.decoder.weight"


# what each DNABERT2Encoder argument may be, and the hub config.json key it comes from
_SETTINGS = dict(
    vocab_size=Setting(int, minimum=1), d_model=Setting(int, minimum=1), n_layers=Setting(int, minimum=0),
    n_heads=Setting(int, minimum=1), d_ff=Setting(int, minimum=1), dropout=Setting(float, minimum=0, maximum=1),
    attention_dropout=Setting(float, minimum=0, maximum=1), type_vocab_size=Setting(int, minimum=1),
    norm_eps=Setting(float, above=0), pad_token_id=Setting(int, minimum=0),
)
_OFFICIAL_NAMES = dict(
    vocab_size="vocab_size", d_model="hidden_size", n_layers="num_hidden_layers", n_heads="num_attention_heads",
    d_ff="intermediate_size", dropout="hidden_dropout_prob", attention_dropout="attention_probs_dropout_prob",
    type_vocab_size="type_vocab_size", norm_eps="layer_norm_eps", pad_token_id="pad_token_id",
)
_OFFICIAL_SETTINGS = {
    **{_OFFICIAL_NAMES[key]: setting for key, setting in _SETTINGS.items()},
    "pad_token_id": Setting(int, minimum=0, optional=True),  # null in the hub's config: id 3
}
_OFFICIAL_REQUIRED = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


def dnabert2_encoder_config(config, file="config.json"):
    """dnatok ``DNABERT2Encoder`` arguments from DNABERT-2's ``config.json``.

    Every value is checked first (types, ranges, required keys); a ValueError
    names ``file``, the key and the value.
    """
    check_config(file, config, _OFFICIAL_SETTINGS, required=_OFFICIAL_REQUIRED)
    encoder_config = dict(
        vocab_size=config["vocab_size"],
        d_model=config["hidden_size"],
        n_layers=config["num_hidden_layers"],
        n_heads=config["num_attention_heads"],
        d_ff=config["intermediate_size"],
        dropout=config.get("hidden_dropout_prob", 0.1),
        attention_dropout=config.get("attention_probs_dropout_prob", 0.0),
        type_vocab_size=config.get("type_vocab_size", 2),
        norm_eps=config.get("layer_norm_eps", 1e-12),
        pad_token_id=3 if config.get("pad_token_id") is None else config["pad_token_id"],
    )
    check_config(file, encoder_config, _SETTINGS, names=_OFFICIAL_NAMES)  # sizes that must agree
    return encoder_config


def map_dnabert2_keys(state_dict):
    """Split an official DNABERT-2 state dict into dnatok encoder and head state dicts.

    Takes the keys of ``BertForMaskedLM`` (the hub's ``pytorch_model.bin``),
    ``BertForSequenceClassification`` or ``BertModel``.

    Returns
    -------
    encoder : dict
    head : dict
        Pooler, classifier and masked-LM head weights present, under the key names
        of :class:`DNABERT2ClassificationModel` / :class:`DNABERT2MaskedLM`.
    """
    encoder, head, unknown = {}, {}, []
    for key, value in state_dict.items():
        if key == _TIED:
            continue
        new = rename_key(key.removeprefix("bert."), _ENCODER_KEYS)
        if new is not None:
            encoder[new] = value
            continue
        new = rename_key(key, _HEAD_KEYS)
        if new is None:
            unknown.append(key)
        else:
            head[new] = value
    if unknown:
        raise ValueError(f"Unexpected keys in a DNABERT-2 checkpoint: {few(sorted(unknown))}.")
    return encoder, head


def load_dnabert2(folder, state_dict=None):
    """:class:`PretrainedWeights` from a DNABERT-2 folder in the hub layout.

    The folder holds ``config.json``, ``model.safetensors`` or ``pytorch_model.bin``
    and ``tokenizer.json`` (the vocabulary the model reads; tokenize with
    ``BPETokenizer(pretrained=folder)``). The head state dict holds whichever of the
    masked-LM head, pooler and classifier the checkpoint has.

    The config is checked against the weights before anything is built or loaded:
    the layer count and widths from the weight file's names and shapes (a
    safetensors header is read alone), then every shape on the meta device.
    """
    folder = Path(folder)
    config_file = folder / "config.json"
    config = read_config(folder)
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(
            f"{folder} has no tokenizer.json; a DNABERT-2 folder needs the tokenizer its "
            f"model was trained with (the hub folder has it)."
        )
    encoder_config = dnabert2_encoder_config(config, config_file)
    weights_file = "the given state dict" if state_dict is not None else released_weights_file(folder)
    shapes = state_dict if state_dict is not None else weight_shapes(weights_file)
    check_encoder_weights(DNABERT2_FAMILY, config_file, weights_file, encoder_config,
                          map_dnabert2_keys(shapes)[0], _OFFICIAL_NAMES)
    encoder, head = map_dnabert2_keys(state_dict if state_dict is not None else read_weights(folder))
    return PretrainedWeights(
        DNABERT2_FAMILY.name, encoder_config, encoder, "BPETokenizer", _fingerprint(_load(tokenizer_file)), head
    )


def _is_dnabert2_config(config):
    """The hub's config.json: MosaicBERT's ALiBi size, or its remote-code classes."""
    return "alibi_starting_size" in config or "bert_layers." in json.dumps(config.get("auto_map", {}))


#: DNABERT-2 as a dnatok model family: any BPE vocabulary (a released model's is
#: checked against its tokenizer.json), head names as released
DNABERT2_FAMILY = register_family(ModelFamily(
    name="dnabert2",
    encoder=DNABERT2Encoder,
    models={"classifier": DNABERT2ClassificationModel, "regressor": DNABERT2RegressionModel,
            "masked_lm": DNABERT2MaskedLM, "embedder": DNABERT2Model},
    is_official=_is_dnabert2_config,
    read_official=load_dnabert2,
    loads_pretrained_head=True,
    settings=_SETTINGS,
    weight_sizes=dict(
        n_layers=Count(r"blocks\.(\d+)\.", "layers"),
        vocab_size=Dim("embedding.weight", 0, "embedding rows"),
        d_model=Dim("embedding.weight", 1, "embedding columns"),
        type_vocab_size=Dim("token_type_embedding.weight", 0, "token type embedding rows"),
    ),
))
