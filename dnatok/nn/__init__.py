"""PyTorch building blocks: the transformer backbone shared by every dnatok model.

Pure torch; the skorch estimators in the ``estimators`` package wrap these.
"""

from ._attention import MultiHeadAttention
from ._block import SwiGLU, TransformerBlock
from ._encoder import TransformerEncoder, init_weights
from ._heads import ClassificationHead, MaskedLMHead, pool
from ._masking import IGNORE_INDEX, mask_tokens, warmup_cosine
from ._pretrained import PretrainedEncoder, load_pretrained, save_pretrained
from ._pretraining import masked_lm_loss, seeded, train_masked_lm
from ._models import MaskedLMModel, SequenceClassificationModel, SequenceRegressionModel
from ._rotary import apply_rotary, rotary_cos_sin

__all__ = [
    "IGNORE_INDEX",
    "ClassificationHead",
    "MaskedLMHead",
    "MaskedLMModel",
    "MultiHeadAttention",
    "PretrainedEncoder",
    "SequenceClassificationModel",
    "SequenceRegressionModel",
    "SwiGLU",
    "TransformerBlock",
    "TransformerEncoder",
    "apply_rotary",
    "init_weights",
    "load_pretrained",
    "mask_tokens",
    "masked_lm_loss",
    "pool",
    "rotary_cos_sin",
    "save_pretrained",
    "seeded",
    "train_masked_lm",
    "warmup_cosine",
]
