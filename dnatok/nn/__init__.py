"""PyTorch modules of every dnatok model family, and loading their weights.

Three families are registered (:func:`registered_families`): dnatok's own
transformer (a convolution stem, then pre-LayerNorm blocks with rotary attention
and SwiGLU), MxDNA and DNABERT-2. Each is one :class:`ModelFamily`: its encoder,
its complete models, which tokenizer outputs it reads and how its released
checkpoints are read. :func:`load_pretrained` reads any of their weights
(:class:`PretrainedWeights`) from a fitted estimator, a saved folder, a released
checkpoint or a hub id.

The training loop is one layer up, in :mod:`dnatok.training`; the public
estimators are in the ``estimators`` package.
"""

# importing a family's module registers the family
from ._block import TransformerBlock
from ._dnabert2 import (
    DNABERT2ClassificationModel,
    DNABERT2Encoder,
    DNABERT2MaskedLM,
    DNABERT2Model,
    DNABERT2RegressionModel,
    load_dnabert2,
)
from ._encoder import TransformerEncoder
from ._family import ModelFamily, family_of, get_family, register_family, registered_families
from ._models import MaskedLMModel, SequenceClassificationModel, SequenceRegressionModel
from ._mxdna import DeformableAssembly, LearntTokenization, MxDNAClassificationModel, MxDNAEncoder, MxDNAMaskedLM
from ._mxdna_family import load_mxdna
from ._stem import ConvolutionStem
from ._weights import PretrainedWeights, load_pretrained, save_pretrained

__all__ = [
    "ConvolutionStem",
    "DNABERT2ClassificationModel",
    "DNABERT2Encoder",
    "DNABERT2MaskedLM",
    "DNABERT2Model",
    "DNABERT2RegressionModel",
    "DeformableAssembly",
    "LearntTokenization",
    "MaskedLMModel",
    "ModelFamily",
    "MxDNAClassificationModel",
    "MxDNAEncoder",
    "MxDNAMaskedLM",
    "PretrainedWeights",
    "SequenceClassificationModel",
    "SequenceRegressionModel",
    "TransformerBlock",
    "TransformerEncoder",
    "family_of",
    "get_family",
    "load_dnabert2",
    "load_mxdna",
    "load_pretrained",
    "register_family",
    "registered_families",
    "save_pretrained",
]
