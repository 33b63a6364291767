"""Model configs, checked before anything is built from them.

A config comes from a file (a released model's ``config.json``, or the
``encoder`` record of one dnatok saved) and says how large a model to build. It is
checked in three steps, each before the next can cost anything:

1. every value's type and range (:class:`Setting`, :func:`check_config`);
2. the counts and widths the weights imply (:class:`Count`, :class:`Dim`): layers,
   experts, vocabulary and width read from the weight file's tensor names and
   shapes, for a safetensors file from its header alone
   (:func:`dnatok.nn._weights.weight_shapes`);
3. every tensor's shape, against the encoder built on the meta device (no memory).

So a config asking for a million layers or a billion experts is refused from the
weights' names, in milliseconds, instead of being built.
"""

import math
import numbers
import re
from dataclasses import dataclass
from typing import Optional

import torch

__all__ = ["Count", "Dim", "Setting", "check_config", "check_encoder_weights", "check_state_dict", "few"]


@dataclass(frozen=True)
class Setting:
    """What one config value may be.

    Parameters
    ----------
    kind : {int, float, bool}
        An int is an integral number (not a bool, not ``24.0``); a float is any
        finite number.
    minimum, maximum : number or None
        Inclusive bounds.
    above : number or None
        Exclusive lower bound.
    optional : bool
        Whether ``null`` (None) is allowed.
    """

    kind: type
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    above: Optional[float] = None
    optional: bool = False

    def describe(self):
        kind = {int: "an int", float: "a number", bool: "true or false"}[self.kind]
        bounds = []
        if self.above is not None:
            bounds.append(f"above {self.above}")
        if self.minimum is not None:
            bounds.append(f"at least {self.minimum}")
        if self.maximum is not None:
            bounds.append(f"at most {self.maximum}")
        return kind + (" " + " and ".join(bounds) if bounds else "") + (", or null" if self.optional else "")

    def accepts(self, value):
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return self.kind is bool and isinstance(value, bool)
        if self.kind is bool:
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not math.isfinite(value):
            return False
        return not (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.above is not None and value <= self.above)
        )


_FIX = "The file is damaged or was edited; save the model again, or download it again."


def check_config(file, config, settings, *, required=(), names=None, allow_unknown=True):
    """Refuse a config value of the wrong type or range, naming the file and key.

    Parameters
    ----------
    file : path-like
        The file the config was read from, for messages.
    config : dict
    settings : dict of str to Setting
        What each key may be; keys not listed are not checked (unless
        ``allow_unknown`` is False: then they are refused).
    required : iterable of str
        Keys that must be present.
    names : dict of str to str, optional
        How to name a key in messages (``encoder.d_model``, or the released
        config's key a dnatok argument came from).

    Raises
    ------
    ValueError
        ``<file>: <key> = <value>: expected ...``.
    """
    names = names or {}
    if not isinstance(config, dict):
        raise ValueError(f"{file}: expected a config object ({{...}}), got {type(config).__name__}. {_FIX}")
    missing = [names.get(key, key) for key in required if key not in config]
    if missing:
        raise ValueError(f"{file} lacks {', '.join(missing)}, which every such config has. {_FIX}")
    if not allow_unknown:
        unknown = sorted(str(key) for key in config if key not in settings)
        if unknown:
            raise ValueError(
                f"{file}: {', '.join(names.get(key, key) for key in unknown)} "
                f"{'is not a setting' if len(unknown) == 1 else 'are not settings'} of this model "
                f"(known: {', '.join(sorted(settings))}). {_FIX}"
            )
    for key, setting in settings.items():
        if key in config and not setting.accepts(config[key]):
            raise ValueError(
                f"{file}: {names.get(key, key)} = {config[key]!r}; expected {setting.describe()}. {_FIX}"
            )
    # the sizes every attention layer divides
    d_model, n_heads = config.get("d_model"), config.get("n_heads")
    if isinstance(d_model, int) and isinstance(n_heads, int) and d_model % n_heads:
        raise ValueError(
            f"{file}: {names.get('d_model', 'd_model')} = {d_model} is not a multiple of "
            f"{names.get('n_heads', 'n_heads')} = {n_heads}. {_FIX}"
        )
    for key in ("pad_token_id", "cls_token_id", "sep_token_id"):
        value, vocab_size = config.get(key), config.get("vocab_size")
        if isinstance(value, int) and isinstance(vocab_size, int) and value >= vocab_size:
            raise ValueError(
                f"{file}: {names.get(key, key)} = {value} is not an id of a vocabulary of "
                f"{names.get('vocab_size', 'vocab_size')} = {vocab_size}. {_FIX}"
            )


@dataclass(frozen=True)
class Count:
    """A config value the weights count: the distinct indices in keys like ``pattern``
    (a regex with one ``(\\d+)`` group, matched at the start of encoder keys)."""

    pattern: str
    what: str

    def measure(self, keys):
        indices = {int(m.group(1)) for m in map(re.compile(self.pattern).match, keys) if m}
        return len(indices)


@dataclass(frozen=True)
class Dim:
    """A config value the weights give as one dimension of one tensor."""

    key: str
    axis: int
    what: str

    def measure(self, shapes):
        shape = shapes.get(self.key)
        return None if shape is None or len(shape) <= self.axis else shape[self.axis]


def check_encoder_weights(family, config_file, weights_file, encoder_config, state_dict, names=None):
    """Refuse an encoder config that does not describe these weights.

    The family's counts and widths (``family.weight_sizes``) are compared first,
    from the tensors' names and shapes only; then the encoder is built on the meta
    device (no memory is allocated) and every shape compared
    (:func:`check_state_dict`).

    Parameters
    ----------
    family : ModelFamily
    config_file, weights_file : path-like
        For messages.
    encoder_config : dict
        The encoder's constructor arguments, already checked by :func:`check_config`.
    state_dict : dict of str to Tensor
        The encoder's weights under dnatok's names; meta tensors will do.
    names : dict of str to str, optional
        How to name an argument in messages (a released config's key).
    """
    names = names or {}
    shapes = {key: tuple(value.shape) for key, value in state_dict.items()}
    for argument, size in family.weight_sizes.items():
        found = size.measure(shapes) if isinstance(size, Dim) else size.measure(shapes.keys())
        if found is not None and argument in encoder_config and encoder_config[argument] != found:
            raise ValueError(
                f"{config_file}: {names.get(argument, argument)} = {encoder_config[argument]!r}, but the "
                f"weights in {weights_file} have {found} {size.what}. The config does not describe "
                f"these weights: use the config.json they were saved or released with."
            )
    with torch.device("meta"):  # shapes only, no memory
        expected = family.encoder(**encoder_config).state_dict()
    check_state_dict(f"{family.name} encoder", state_dict, expected)


def check_state_dict(what, state_dict, model_state):
    """Refuse weights that do not fill ``model_state`` exactly, naming the keys."""
    missing = sorted(set(model_state) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(model_state))
    wrong = sorted(k for k in set(state_dict) & set(model_state) if state_dict[k].shape != model_state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {few(missing)}")
        if unexpected:
            parts.append(f"unexpected {few(unexpected)}")
        if wrong:
            parts.append("wrong shapes " + few(
                [f"{k} {tuple(state_dict[k].shape)} (config: {tuple(model_state[k].shape)})" for k in wrong]))
        raise ValueError(
            f"The {what} weights do not match their config.json: {'; '.join(parts)}. Is the "
            f"folder's config.json the one these weights were saved with?"
        )


def few(names, n=5):
    """The first ``n`` names, and how many more there are."""
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")
