"""PyTorch building blocks: the transformer backbone shared by every dnatok model,
MxDNA, and the one skorch training loop (:class:`TrainingNet`) they are trained with.

The public estimators in the ``estimators`` package build on these.
"""

from ._attention import MultiHeadAttention
from ._block import SwiGLU, TransformerBlock
from ._encoder import TransformerEncoder, init_weights
from ._heads import ClassificationHead, MaskedLMHead, pool
from ._masking import IGNORE_INDEX, mask_tokens, warmup_cosine
from ._pretrained import PretrainedEncoder, load_pretrained, save_pretrained
from ._callbacks import TimeBudget, WarmupCosineLR
from ._net import (
    MaskedLMNet,
    MaskedLMTraining,
    TrainingNet,
    flushing_subnormals,
    masked_lm_loss,
    parameter_groups,
    seeded,
)
from ._stem import ConvolutionStem
from ._dnabert2 import (
    DNABERT2ClassificationModel,
    DNABERT2Encoder,
    DNABERT2MaskedLM,
    DNABERT2Model,
    DNABERT2RegressionModel,
    alibi_slopes,
)
from ._official import load_dnabert2, load_mxdna, official_family, read_weights
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
    "ConvolutionStem",
    "DNABERT2ClassificationModel",
    "DNABERT2Encoder",
    "DNABERT2MaskedLM",
    "DNABERT2Model",
    "DNABERT2RegressionModel",
    "DeformableAssembly",
    "IGNORE_INDEX",
    "LearntTokenization",
    "MaskedLMHead",
    "MaskedLMModel",
    "MaskedLMNet",
    "MaskedLMTraining",
    "MultiHeadAttention",
    "MxDNAClassificationModel",
    "MxDNAEncoder",
    "MxDNAEncoderOutput",
    "MxDNAMaskedLM",
    "PretrainedEncoder",
    "SequenceClassificationModel",
    "SequenceRegressionModel",
    "SwiGLU",
    "TimeBudget",
    "TokenizationOutput",
    "TrainingNet",
    "TransformerBlock",
    "TransformerEncoder",
    "WarmupCosineLR",
    "alibi_slopes",
    "apply_rotary",
    "closest_divisor",
    "compact_tokens",
    "flushing_subnormals",
    "init_mxdna_weights",
    "init_weights",
    "load_balancing_loss",
    "load_dnabert2",
    "load_mxdna",
    "load_pretrained",
    "mask_tokens",
    "masked_lm_loss",
    "modulated_deformable_conv1d",
    "official_family",
    "parameter_groups",
    "mxdna_loss",
    "pool",
    "read_weights",
    "rotary_cos_sin",
    "save_pretrained",
    "seeded",
    "select_basic_units",
    "tie_break_key",
    "unit_extent",
    "warmup_cosine",
]
