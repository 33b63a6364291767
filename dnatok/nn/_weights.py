"""Pretrained weights: one record, saved and loaded one way, for every model family.

A :class:`PretrainedWeights` is what fine-tuning starts from: a family's encoder
config and weights, the rest of the model (its head), and the identity of the
vocabulary it read. Fitted estimators give one (``get_pretrained``), and
:func:`load_pretrained` reads one from any folder: dnatok's own
(:func:`save_pretrained`: ``config.json`` + ``encoder.pt`` [+ ``head.pt``], plain
state dicts read with ``weights_only=True``, so a file can only hold tensors), or
a released checkpoint in its authors' layout, which the family that recognises its
``config.json`` reads (see :mod:`dnatok.nn._family`).
"""

import json
import os
import pickle
import re
from pathlib import Path

import torch

from .._hub import pretrained_folder
from .._version import __version__
from ..datasets._download import sha256
from ._config import check_config, check_encoder_weights, few
from ._family import get_family, official_family

__all__ = [
    "PretrainedWeights",
    "check_weight_values",
    "load_pretrained",
    "load_weight_file",
    "read_config",
    "read_weights",
    "released_weights_file",
    "rename_key",
    "save_pretrained",
    "weight_shapes",
]

_CONFIG = "config.json"
_WEIGHTS = "encoder.pt"
_HEAD_WEIGHTS = "head.pt"
# a released model's weight files, the first found wins
_RELEASED_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


class PretrainedWeights:
    """A pretrained model's family, encoder config and weights, and vocabulary identity.

    Attributes
    ----------
    family : str
        Name of the registered model family (``"transformer"``, ``"mxdna"``, ...).
    config : dict
        Constructor arguments of the family's encoder.
    state_dict : dict of str to Tensor
        Encoder weights, on the CPU.
    tokenizer_name : str
    vocab_fingerprint : str
    head_state_dict : dict of str to Tensor or None
        Weights of the model outside the encoder (a masked-LM head, a released
        pooler and classifier), for models whose head names match them.
    """

    def __init__(self, family, config, state_dict, tokenizer_name, vocab_fingerprint, head_state_dict=None):
        self.family = family
        self.config = config
        self.state_dict = state_dict
        self.tokenizer_name = tokenizer_name
        self.vocab_fingerprint = vocab_fingerprint
        self.head_state_dict = head_state_dict


def save_pretrained(pretrained, path):
    """Write :class:`PretrainedWeights` to the folder ``path`` (created if needed).

    Every file is written under a temporary name and renamed into place, the config
    last; the config records the SHA-256 of each weight file, so a folder whose save
    was interrupted between two renames (old config, new weights, or the reverse) is
    refused on loading instead of mixing two models. A ``head.pt`` of an earlier save
    into the same folder is removed when this model has no head.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    weights = {_WEIGHTS: pretrained.state_dict}
    if pretrained.head_state_dict is not None:
        weights[_HEAD_WEIGHTS] = pretrained.head_state_dict
    files = {}
    for name, state in weights.items():
        torch.save(state, path / (name + ".partial"))
        files[name] = sha256(path / (name + ".partial"))
    config = {
        "architecture": pretrained.family,  # the file format's name for the family
        "encoder": pretrained.config,
        "tokenizer_name": pretrained.tokenizer_name,
        "vocab_fingerprint": pretrained.vocab_fingerprint,
        "dnatok_version": __version__,
        "files": files,
    }
    (path / (_CONFIG + ".partial")).write_text(json.dumps(config, indent=2), encoding="utf-8")
    if _HEAD_WEIGHTS not in weights and (path / _HEAD_WEIGHTS).exists():
        os.remove(path / _HEAD_WEIGHTS)  # another model's head must not be loaded with this one
    for name in (*weights, _CONFIG):
        os.replace(path / (name + ".partial"), path / name)


_REQUIRED = ("architecture", "encoder", "tokenizer_name", "vocab_fingerprint")

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_files(config_file, files):
    """Refuse a ``files`` record other than save_pretrained's: plain file names (of the
    folder, never a path elsewhere: reading one would hash any file for whoever
    wrote the config) to SHA-256 hex digests."""
    expected = (
        'expected "files" to map plain file names in the folder (no / or \\, not . or ..) to '
        "their SHA-256 (64 lowercase hexadecimal characters), as save_pretrained writes. Save "
        "the model again, and do not load a folder from a source you do not trust."
    )
    if not isinstance(files, dict):
        raise ValueError(f"{config_file} has files = {files!r}; {expected}")
    for name, digest in files.items():
        if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\:\0"):
            raise ValueError(f"{config_file} lists the file {name!r} under \"files\"; {expected}")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError(f"{config_file} gives {name!r} the SHA-256 {digest!r} under \"files\"; {expected}")


def read_config(path):
    """The parsed config.json of a folder, or a ValueError that names the file."""
    file = Path(path) / _CONFIG
    readable(file)
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{file} is not a valid JSON config ({type(error).__name__}: {error}); the file is "
            f"damaged. Save the model again (save_pretrained) or download it again."
        ) from None
    if not isinstance(config, dict):
        raise ValueError(f"{file} holds {type(config).__name__}, not a config object; is it a model's?")
    return config


def load_weight_file(file, remedy="save the model again"):
    """A state dict from a ``.safetensors`` file or a torch file read with
    ``weights_only=True``, its tensors checked (:func:`check_weight_values`).

    Raises
    ------
    OSError
        (PermissionError, ...) When the file cannot be opened; the message names it.
    ValueError
        When the file holds objects other than tensors (never loaded: unpickling
        them could run code), is truncated or damaged, or holds tensors no model
        can take; the message names the file and says what to do (``remedy``).
    """
    readable(file)
    try:
        if str(file).endswith(".safetensors"):
            from safetensors.torch import load_file

            state_dict = load_file(str(file), device="cpu")
        else:
            state_dict = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not str(error).startswith("Weights only load failed"):
            raise damaged_weights(file, error, remedy) from None
        # torch's own message advises weights_only=False, which would run whatever the
        # file holds: name what it held instead, and never repeat that advice
        found = re.search(r"GLOBAL (\S+)", str(error))
        raise ValueError(
            f"{file} holds objects other than tensors{f' ({found.group(1)})' if found else ''}, and "
            f"dnatok loads nothing but tensors: unpickling other objects can run code, so the file may "
            f"be malicious, or it was written by other code than a state dict save. Do not load it "
            f"some other way unless you trust its source. {remedy[0].upper()}{remedy[1:]}."
        ) from None
    except Exception as error:  # safetensors and torch raise several kinds
        raise damaged_weights(file, error, remedy) from None
    if not isinstance(state_dict, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state_dict.items()
    ):
        raise ValueError(
            f"{file} holds a {type(state_dict).__name__}, not a state dict (names to tensors); "
            f"it is not a weight file. {remedy[0].upper()}{remedy[1:]}."
        )
    check_weight_values(file, state_dict, remedy)
    return state_dict


def readable(file):
    """Raise an OSError that names ``file`` when it cannot be opened (an unreadable
    file is not a damaged one: say which)."""
    try:
        open(file, "rb").close()
    except OSError as error:
        raise _unreadable(file, error) from None


def _unreadable(file, error):
    """The OSError (of the same kind) for a file that cannot be opened, naming it."""
    return type(error)(
        f"{file} cannot be read ({error.strerror or error}); check that it exists and that you "
        f"may read it (its permissions)."
    )


def _sha256(file):
    """The SHA-256 of a file; an OSError names it."""
    try:
        return sha256(file)
    except OSError as error:
        raise _unreadable(file, error) from None


def damaged_weights(file, error, remedy):
    """The ValueError for a weight file that is truncated or not a weight file."""
    detail = str(error).splitlines()[0] if str(error) else ""
    if "weights_only" in detail:  # never pass on advice to load with weights_only=False
        detail = ""
    return ValueError(
        f"Could not read the weights in {file} ({type(error).__name__}{': ' + detail if detail else ''}). "
        f"The file is truncated or damaged; {remedy}."
    )


def check_weight_values(file, state_dict, remedy="save the model again"):
    """Refuse tensors of ``state_dict`` (read from ``file``) that no model can take.

    Every tensor dnatok loads fills a floating-point parameter or buffer (no family
    has others), so an integer, bool or complex tensor is refused rather than
    silently cast, and a floating tensor holding NaN or inf is refused rather than
    making every output NaN. One ``isfinite`` pass per tensor; values are counted
    only for the message.

    Raises
    ------
    ValueError
        Naming the file, the key, and the dtype found or how many values are NaN / inf.
    """
    remedy = remedy[0].upper() + remedy[1:]
    for key, tensor in state_dict.items():
        if not tensor.is_floating_point():
            raise ValueError(
                f"{file}: {key} holds {str(tensor.dtype).removeprefix('torch.')} values, but it fills "
                f"a floating-point weight of the model (float32, float16 or bfloat16 expected); the "
                f"file was not saved from such a model, or was edited. {remedy}."
            )
        if not torch.isfinite(tensor).all():
            n_nan, n_inf = int(torch.isnan(tensor).sum()), int(torch.isinf(tensor).sum())
            raise ValueError(
                f"{file}: {key} holds {n_nan} NaN and {n_inf} inf values (of {tensor.numel()}); a "
                f"model with them outputs NaN (did the training that saved it diverge?). {remedy}."
            )


def released_weights_file(folder):
    """A released model's weight file: ``model.safetensors``, else ``pytorch_model.bin``.

    Raises
    ------
    FileNotFoundError
        When neither file is there.
    """
    folder = Path(folder)
    for name in _RELEASED_WEIGHTS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{folder} holds no weights: expected {' or '.join(_RELEASED_WEIGHTS)} beside config.json."
    )


_SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def weight_shapes(file, remedy="download it again"):
    """The tensors of a weight file as meta tensors (names, shapes, dtypes; no data).

    A ``.safetensors`` file is read from its header only; other files (torch
    pickles, read with ``weights_only=True``) are loaded and their shapes taken.
    """
    if not str(file).endswith(".safetensors"):
        return {key: torch.empty(value.shape, dtype=value.dtype, device="meta")
                for key, value in load_weight_file(file, remedy).items()}
    from safetensors import safe_open

    readable(file)
    try:
        with safe_open(str(file), framework="pt") as handle:
            slices = {key: handle.get_slice(key) for key in handle.keys()}
            # integer and other dtypes are refused when the values are read
            return {key: torch.empty(part.get_shape(), dtype=_SAFETENSORS_DTYPES.get(part.get_dtype(), torch.float32),
                                     device="meta") for key, part in slices.items()}
    except Exception as error:  # safetensors raises its own kinds for a damaged header
        raise damaged_weights(file, error, remedy) from None


def read_weights(folder):
    """The state dict of a released model's folder (:func:`released_weights_file`).

    Raises
    ------
    FileNotFoundError
        When the folder has no weight file.
    ValueError
        When the file is truncated or not a weight file.
    """
    return load_weight_file(released_weights_file(folder), remedy="download it again")


def rename_key(key, table):
    """``key`` renamed by the first ``(pattern, replacement)`` of ``table`` that matches
    it whole, or None."""
    for pattern, replacement in table:
        match = re.fullmatch(pattern, key)
        if match:
            return match.expand(replacement)
    return None


def load_pretrained(source):
    """:class:`PretrainedWeights` from a fitted estimator or a folder.

    Parameters
    ----------
    source : fitted object or str or path-like
        Anything with ``get_pretrained()`` (a fitted ``MaskedLMPretrainer`` or
        ``MxDNATokenizer``); a folder written by :func:`save_pretrained`; a released
        model's folder in its authors' layout (DNABERT-2's hub folder, MxDNA's
        ``ckpt``); or a hub model id such as ``"zhihan1996/DNABERT-2-117M"``.
    """
    if hasattr(source, "get_pretrained"):
        return source.get_pretrained()
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"pretrained must be a fitted dnatok model or the path of a folder saved "
            f"with save_pretrained, got {type(source).__name__}."
        )
    path = pretrained_folder(source)
    if not (path / _CONFIG).is_file():
        raise FileNotFoundError(
            f"{path} is not a pretrained model: it has no {_CONFIG} (dnatok's save_pretrained "
            f"writes one, and so do the released DNABERT-2 and MxDNA models)."
        )
    config = read_config(path)
    if "encoder" not in config and "architecture" not in config:  # a released model's layout
        family = official_family(config)
        if family is None:
            raise ValueError(
                f"{path}/{_CONFIG} describes no model dnatok knows: not a folder written by "
                f"save_pretrained, nor a released DNABERT-2 or MxDNA model."
            )
        return family.read_official(path)
    return _load_saved(path, config)


def _load_saved(path, config):
    """A folder written by :func:`save_pretrained`, its config checked against its
    weights before anything is built from it."""
    config_file = path / _CONFIG
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise ValueError(
            f"{config_file} lacks {', '.join(missing)}: it was not written by save_pretrained, "
            f"or it was edited. Save the model again."
        )
    for key, kind in (("architecture", str), ("tokenizer_name", str), ("vocab_fingerprint", str), ("encoder", dict)):
        if not isinstance(config[key], kind):
            raise ValueError(
                f"{config_file}: {key} = {config[key]!r}; expected {'a string' if kind is str else 'an object'}, "
                f"as save_pretrained writes. The file is damaged or was edited; save the model again."
            )
    if not (path / _WEIGHTS).is_file():
        raise FileNotFoundError(f"{path} is not a complete saved model: {_WEIGHTS} is missing.")
    head = path / _HEAD_WEIGHTS
    files = config.get("files", {})  # folders saved before 0.1 have none
    _check_files(config_file, files)  # before anything it names is opened
    if "files" in config and _WEIGHTS not in files:
        raise ValueError(
            f"{config_file} records no SHA-256 for {_WEIGHTS} under \"files\" (save_pretrained always "
            f"does), so the weights cannot be checked; it was edited. Save the model again."
        )
    for name, expected in files.items():
        file = path / name
        if not file.is_file() or _sha256(file) != expected:
            raise ValueError(
                f"{file} is {'missing' if not file.is_file() else 'not the file'} that {config_file} "
                f"was saved with: the folder mixes two saves (one was interrupted?). Save the model again."
            )
    if "files" in config and _HEAD_WEIGHTS not in config["files"]:
        head = None  # a head.pt beside this config belongs to another save
    try:
        family = get_family(config["architecture"])
    except ValueError as error:
        raise ValueError(f"{config_file}: architecture = {config['architecture']!r}: {error}") from None
    encoder_config = family.update_config(config["encoder"])
    names = {key: f"encoder.{key}" for key in encoder_config}
    check_config(config_file, encoder_config, family.settings, names=names, allow_unknown=False)
    state_dict = load_weight_file(path / _WEIGHTS)
    check_encoder_weights(family, config_file, path / _WEIGHTS, encoder_config, state_dict, names)
    head_state_dict = load_weight_file(head) if head is not None and head.is_file() else None
    return PretrainedWeights(
        family.name, encoder_config, state_dict, config["tokenizer_name"], config["vocab_fingerprint"], head_state_dict,
    )
