"""Named pipelines: what ``dnatok gue --model NAME`` and ``benchmarks/compare.py`` run.

The baselines (k-mer counts + logistic regression, the transformer over k-mers,
BPE and single nucleotides) are registered here; each other model family's
estimator module registers its own recipes (one call), so the command line, the
GUE runner and the benchmark build the same pipelines from one table and a new
family adds its own without touching this file.
"""

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer
from dnatok._registry import Registry

from ._classifier import SequenceClassifier

__all__ = ["NEURAL", "PipelineRecipe", "get_recipe", "recipe_names", "register_recipe"]

#: what every neural recipe trains with: the time budget ends training first,
#: early stopping with patience 3 on 10% of the training sequences
NEURAL = dict(max_epochs=100, early_stopping=3)

_RECIPES = Registry("pipeline recipe")


@dataclass(frozen=True)
class PipelineRecipe:
    """A named pipeline of DNA strings to labels.

    Parameters
    ----------
    name : str
        What ``--model`` takes.
    description : str
        One line, for help texts and reports.
    build : callable ``(max_time, device) -> Pipeline``
        A fresh, unfitted pipeline; neural steps train for at most ``max_time``
        seconds in all, on ``device``.
    param_grid : mapping or None
        Candidates chosen on a task's dev split (``dnatok gue``); None: none.
    """

    name: str
    description: str
    build: Callable
    param_grid: Optional[Mapping] = None


def register_recipe(recipe):
    """Add a :class:`PipelineRecipe` (once per name); returns it."""
    return _RECIPES.register(recipe.name, recipe)


def recipe_names():
    """The registered recipe names, in registration order."""
    return _RECIPES.names()


def get_recipe(name):
    """The recipe called ``name``; a ValueError lists the known ones."""
    return _RECIPES.get(name)


register_recipe(PipelineRecipe(
    "kmer-logreg", "6-mer counts + LogisticRegression (dnatok gue chooses k in 3-6 on dev)",
    lambda max_time, device: make_pipeline(KmerTokenizer(k=6, output="counts"), LogisticRegression(max_iter=2000, C=0.5)),
    param_grid={"kmertokenizer__k": [3, 4, 5, 6]},
))


def _transformer_recipe(name, description, tokenizer):
    return register_recipe(PipelineRecipe(name, description, lambda max_time, device: make_pipeline(
        tokenizer(), SequenceClassifier(max_time=max_time, device=device, **NEURAL))))


_transformer_recipe("kmer-transformer", "KmerTokenizer(k=6) + SequenceClassifier", lambda: KmerTokenizer(k=6))
_transformer_recipe("bpe-transformer", "BPETokenizer (4,096 tokens learnt on the task) + SequenceClassifier",
                    BPETokenizer)
_transformer_recipe("char-transformer", "CharTokenizer + SequenceClassifier", CharTokenizer)
