"""Model families: everything dnatok knows about one kind of network, in one place.

A family (the plain transformer, MxDNA, DNABERT-2, ...) is one :class:`ModelFamily`
registered once, in the module that defines it. The estimators, the weight loaders
and the GUE recipes ask the registry instead of comparing family names: which
module classes belong to it, which tokenizer outputs it reads, how a released
checkpoint of it is recognised and read, and how configs saved by older versions
are brought up to date.
"""

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from .._registry import Registry

__all__ = ["ModelFamily", "family_of", "get_family", "official_family", "register_family", "registered_families"]

_FAMILIES = Registry("model family")


def _accept_any(X, estimator_name):
    """The default input check: any rule-based tokenizer's output."""


def _unchanged(config):
    return config


@dataclass(frozen=True)
class ModelFamily:
    """One model family, as the rest of dnatok sees it.

    Parameters
    ----------
    name : str
        The family's name, saved in ``config.json`` beside pretrained weights.
    encoder : type
        The encoder module class; its constructor arguments are the saved config.
    models : mapping of str to type
        The complete models by task: ``"classifier"``, ``"regressor"``,
        ``"masked_lm"`` and ``"embedder"`` where the family has them. Any subclass
        of these belongs to the family too.
    data_parameters : tuple of str
        Module arguments that come from the tokenizer's output (the estimators
        fill them; a user never gives them).
    check_input : callable ``(X, estimator_name) -> None``
        Raises ValueError, saying what to use instead, for tokenized sequences this
        family cannot read. Output of a tokenizer whose units live in another
        family's network is refused for every family before this is called.
    is_official : callable ``(config) -> bool`` or None
        Whether a released checkpoint's parsed ``config.json`` is this family's.
    read_official : callable ``(folder) -> PretrainedWeights`` or None
        Reads a released checkpoint's folder (key map, config, checks).
    update_config : callable ``(encoder_config) -> encoder_config``
        Brings an encoder config saved by an older dnatok up to date.
    loads_pretrained_head : bool
        Whether the family's models name their head weights as its released
        checkpoints do, so that fine-tuning may start from a released head.
    settings : mapping of str to Setting
        What each encoder argument may be (:mod:`dnatok.nn._config`): a saved
        config is checked against it, and an argument not listed is refused.
    weight_sizes : mapping of str to Count or Dim
        The encoder arguments the weights' names and shapes give (layers, experts,
        width), compared with a config before any module is built from it.
    """

    name: str
    encoder: type
    models: Mapping[str, type]
    data_parameters: tuple = ("vocab_size", "pad_token_id")
    check_input: Callable = _accept_any
    is_official: Optional[Callable] = None
    read_official: Optional[Callable] = None
    update_config: Callable = _unchanged
    loads_pretrained_head: bool = False
    settings: Mapping = field(default_factory=dict)
    weight_sizes: Mapping = field(default_factory=dict)
    module_classes: tuple = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "module_classes", (self.encoder, *self.models.values()))


def register_family(family):
    """Add a :class:`ModelFamily` to the registry (once per name); returns it."""
    return _FAMILIES.register(family.name, family)


def registered_families():
    """The registered families, in registration order (a tuple)."""
    return _FAMILIES.values()


def get_family(name):
    """The registered family called ``name``; a ValueError lists the known ones."""
    return _FAMILIES.get(name)


def family_of(module_class):
    """The family a module class belongs to (subclasses included).

    A module class of no family (a user's own model) is trained and saved as the
    plain ``"transformer"`` family: any tokenizer, no released checkpoint.
    """
    for family in _FAMILIES.values():
        if issubclass(module_class, family.module_classes):
            return family
    return get_family("transformer")


def official_family(config):
    """The family whose released checkpoints have this parsed ``config.json``, or None."""
    claims = [family for family in _FAMILIES.values() if family.is_official is not None and family.is_official(config)]
    if len(claims) > 1:
        raise ValueError(
            f"This config.json reads as a released checkpoint of several model families "
            f"({', '.join(family.name for family in claims)}); which one is it?"
        )
    return claims[0] if claims else None
