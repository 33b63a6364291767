"""Saving and loading pretrained encoders: weights plus a small JSON config.

A pretrained model is a folder with ``config.json`` (the encoder's constructor
arguments, the identity of the tokenizer vocabulary it was trained on, and the
SHA-256 of each weight file) and ``encoder.pt``, a plain state dict (``head.pt``
beside it for the rest of a pretraining model). Loading uses ``torch.load(weights_only=True)``,
so a file can only ever hold tensors, never code.
"""

import json
import os
from pathlib import Path

import torch

from dnatok.datasets._download import sha256

__all__ = ["PretrainedEncoder", "load_pretrained", "load_weight_file", "save_pretrained"]

_CONFIG = "config.json"
_WEIGHTS = "encoder.pt"
_HEAD_WEIGHTS = "head.pt"


class PretrainedEncoder:
    """What fine-tuning starts from: encoder config, weights and vocabulary identity.

    Attributes
    ----------
    architecture : str
        Name of the encoder's model family (e.g. ``"transformer"``).
    config : dict
        Constructor arguments of the encoder.
    state_dict : dict of str to Tensor
        Encoder weights, on the CPU.
    tokenizer_name : str
    vocab_fingerprint : str
    head_state_dict : dict of str to Tensor or None
        Weights of the pretraining model outside the encoder (e.g. its masked-LM
        head), for whoever wants the whole model back; fine-tuning ignores them.
    """

    def __init__(self, architecture, config, state_dict, tokenizer_name, vocab_fingerprint, head_state_dict=None):
        self.architecture = architecture
        self.config = config
        self.state_dict = state_dict
        self.tokenizer_name = tokenizer_name
        self.vocab_fingerprint = vocab_fingerprint
        self.head_state_dict = head_state_dict


def save_pretrained(pretrained, path):
    """Write a :class:`PretrainedEncoder` to the folder ``path`` (created if needed).

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
        "architecture": pretrained.architecture,
        "encoder": pretrained.config,
        "tokenizer_name": pretrained.tokenizer_name,
        "vocab_fingerprint": pretrained.vocab_fingerprint,
        "dnatok_version": _version(),
        "files": files,
    }
    (path / (_CONFIG + ".partial")).write_text(json.dumps(config, indent=2), encoding="utf-8")
    if _HEAD_WEIGHTS not in weights and (path / _HEAD_WEIGHTS).exists():
        os.remove(path / _HEAD_WEIGHTS)  # another model's head must not be loaded with this one
    for name in (*weights, _CONFIG):
        os.replace(path / (name + ".partial"), path / name)


_REQUIRED = ("architecture", "encoder", "tokenizer_name", "vocab_fingerprint")


def _read_config(path):
    """The parsed config.json of a folder, or a ValueError that names the file."""
    file = path / _CONFIG
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{file} is not a valid JSON config ({type(error).__name__}: {error}); the file is "
            f"damaged. Save the model again (save_pretrained) or download it again."
        ) from None


def load_weight_file(file, remedy="save the model again"):
    """A state dict from a ``.safetensors`` file or a torch file read with
    ``weights_only=True``; a damaged file raises a ValueError that names it."""
    try:
        if str(file).endswith(".safetensors"):
            from safetensors.torch import load_file

            return load_file(str(file), device="cpu")
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # safetensors and torch raise several kinds
        raise ValueError(
            f"Could not read the weights in {file} ({type(error).__name__}: {error}). The file "
            f"is truncated or damaged; {remedy}."
        ) from None


def load_pretrained(source):
    """A :class:`PretrainedEncoder` from a fitted estimator or a saved folder.

    Parameters
    ----------
    source : fitted object or str or path-like
        Anything with ``get_pretrained()`` (a fitted ``MaskedLMPretrainer`` or
        ``MxDNATokenizer``); a folder written by ``save_pretrained``; a released
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
    from dnatok._hub import pretrained_folder

    path = pretrained_folder(source)
    if not (path / _CONFIG).is_file():
        raise FileNotFoundError(
            f"{path} is not a pretrained model: it has no {_CONFIG} (dnatok's save_pretrained "
            f"writes one, and so do the released DNABERT-2 and MxDNA models)."
        )
    config = _read_config(path)
    if not isinstance(config, dict):
        raise ValueError(f"{path / _CONFIG} holds {type(config).__name__}, not a config object; is it a model's?")
    if "encoder" not in config and "architecture" not in config:  # a released model's layout
        return _load_official(path, config)
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise ValueError(
            f"{path / _CONFIG} lacks {', '.join(missing)}: it was not written by save_pretrained, "
            f"or it was edited. Save the model again."
        )
    if not (path / _WEIGHTS).is_file():
        raise FileNotFoundError(f"{path} is not a complete saved model: {_WEIGHTS} is missing.")
    head = path / _HEAD_WEIGHTS
    for name, expected in config.get("files", {}).items():  # folders saved before 0.1 have none
        file = path / name
        if not file.is_file() or sha256(file) != expected:
            raise ValueError(
                f"{file} is {'missing' if not file.is_file() else 'not the file'} that {path / _CONFIG} "
                f"was saved with: the folder mixes two saves (one was interrupted?). Save the model again."
            )
    if "files" in config and _HEAD_WEIGHTS not in config["files"]:
        head = None  # a head.pt beside this config belongs to another save
    # folders saved before the convolution stem existed hold models without one
    if config["architecture"] in ("transformer", "mxdna"):
        config["encoder"].setdefault("conv_kernel_size", 0)
    state_dict = load_weight_file(path / _WEIGHTS)
    head_state_dict = load_weight_file(head) if head is not None and head.is_file() else None
    return PretrainedEncoder(
        config["architecture"], config["encoder"], state_dict,
        config["tokenizer_name"], config["vocab_fingerprint"], head_state_dict,
    )


def _load_official(path, config):
    from . import _official

    family = _official.official_family(config)
    if family == "dnabert2":
        return _official.load_dnabert2(path)
    if family == "mxdna":
        return _official.load_mxdna(path)
    raise ValueError(
        f"{path}/{_CONFIG} describes no model dnatok knows: not a folder written by "
        f"save_pretrained, nor a released DNABERT-2 or MxDNA model."
    )


def _version():
    from dnatok import __version__

    return __version__
