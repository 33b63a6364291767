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
from ._mxdna import (
    ConvolutionExpert,
    DeformableAssembly,
    LearntTokenization,
    MxDNAClassificationModel,
    MxDNAEncoder,
    MxDNAEncoderOutput,
    MxDNAMaskedLM,
    TokenizationOutput,
    closest_divisor,
    compact_tokens,
    init_mxdna_weights,
    load_balancing_loss,
    modulated_deformable_conv1d,
    mxdna_loss,
)
from ._mxdna_selection import BasicUnits, select_basic_units, tie_break_key, unit_extent
from ._models import MaskedLMModel, SequenceClassificationModel, SequenceRegressionModel
from ._rotary import apply_rotary, rotary_cos_sin

__all__ = [
    "BasicUnits",
    "ClassificationHead",
    "ConvolutionExpert",
    "DeformableAssembly",
    "IGNORE_INDEX",
    "LearntTokenization",
    "MaskedLMHead",
    "MaskedLMModel",
    "MultiHeadAttention",
    "MxDNAClassificationModel",
    "MxDNAEncoder",
    "MxDNAEncoderOutput",
    "MxDNAMaskedLM",
    "PretrainedEncoder",
    "SequenceClassificationModel",
    "SequenceRegressionModel",
    "SwiGLU",
    "TokenizationOutput",
    "TransformerBlock",
    "TransformerEncoder",
    "apply_rotary",
    "closest_divisor",
    "compact_tokens",
    "init_mxdna_weights",
    "init_weights",
    "load_balancing_loss",
    "load_pretrained",
    "mask_tokens",
    "masked_lm_loss",
    "modulated_deformable_conv1d",
    "mxdna_loss",
    "pool",
    "rotary_cos_sin",
    "save_pretrained",
    "seeded",
    "select_basic_units",
    "tie_break_key",
    "train_masked_lm",
    "unit_extent",
    "warmup_cosine",
]
