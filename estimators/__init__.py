"""skorch-wrapped neural estimators built on dnatok tokenizers.

Put one after any dnatok tokenizer in a Pipeline::

    make_pipeline(KmerTokenizer(k=6), SequenceClassifier())

The estimators size themselves from the tokenizer's output, so the same line works
for every tokenization.
"""

from dnatok.training import MaskedLMPretrainer, SequenceNet, TimeBudget, WarmupCosineLR

from ._classifier import SequenceClassifier
from ._dnabert2 import DNABERT2, DNABERT2Classifier, DNABERT2Embedder, DNABERT2Pretrainer, DNABERT2Regressor
from ._mxdna import MxDNAClassifier, MxDNARegressor
from ._recipes import PipelineRecipe, get_recipe, recipe_names, register_recipe
from ._regressor import SequenceRegressor

__all__ = [
    "DNABERT2",
    "DNABERT2Classifier",
    "DNABERT2Embedder",
    "DNABERT2Pretrainer",
    "DNABERT2Regressor",
    "MaskedLMPretrainer",
    "MxDNAClassifier",
    "MxDNARegressor",
    "PipelineRecipe",
    "SequenceClassifier",
    "SequenceNet",
    "SequenceRegressor",
    "TimeBudget",
    "WarmupCosineLR",
    "get_recipe",
    "recipe_names",
    "register_recipe",
]
