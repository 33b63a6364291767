"""SequenceNet: what every public dnatok estimator shares on top of the training loop.

The loop itself, its controls and the tokenizer-to-module sizing are
:class:`dnatok.nn.TrainingNet` (shared with ``MxDNATokenizer``'s pretraining).
Here come what users of a fitted estimator need:

- ``pretrained`` starts the encoder from a fitted pretrainer or a saved folder;
- ``transform`` gives pooled embeddings, so a fitted net is also a featurizer;
- ``get_pretrained``/``save_pretrained`` hand the encoder on;
- guards on what reaches the model: an MxDNATokenizer's output only goes to the
  MxDNA estimators (its learned units live in its network), and ``[CLS]`` pooling
  needs a ``[CLS]``.
"""

import os

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils._param_validation import HasMethods
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from dnatok.nn import PretrainedEncoder, TrainingNet, flushing_subnormals, load_pretrained, save_pretrained

__all__ = ["SequenceNet", "starts_with_cls"]

# pretrained-encoder settings that fine-tuning may change; all others are fixed
_TUNABLE = ("dropout", "attention_dropout", "jitter")


def starts_with_cls(X):
    """Whether every row of the tokenized sequences X begins with [CLS]."""
    return bool((X["input_ids"][:, 0] == X.cls_token_id).all())


class SequenceNet(TransformerMixin, TrainingNet):
    """Base class of the dnatok estimators; use a subclass.

    Parameters
    ----------
    module : torch module class or None, default=None
        None uses the subclass's model (e.g. ``SequenceClassificationModel``). Its
        sizes are set with ``module__d_model=...``, ``module__n_layers=...`` and so
        on; ``vocab_size`` and the special-token ids always come from the tokenizer.
    pretrained : fitted estimator, str, path-like or None, default=None
        Start the encoder from these weights: a fitted :class:`MaskedLMPretrainer`
        (or any fitted dnatok estimator) or a folder written by
        :meth:`save_pretrained`. Encoder sizes come from it.
    **kwargs
        The training controls of :class:`dnatok.nn.TrainingNet`: ``lr``,
        ``max_epochs``, ``max_time``, ``batch_size``, ``warmup_fraction``,
        ``weight_decay``, ``gradient_clip_value``, ``early_stopping``,
        ``validation_fraction``, ``checkpoint_dir``, ``mixed_precision``,
        ``random_state``, ``verbose``, ``device``, and skorch's ``module__*``,
        ``optimizer__*``, ``iterator_*``.
    """

    #: the model family, checked against pretrained weights
    _architecture = "transformer"

    _parameter_constraints = {
        **TrainingNet._parameter_constraints,
        "pretrained": [str, os.PathLike, HasMethods(["get_pretrained"]), None],
    }

    def __init__(self, module=None, *, pretrained=None, **kwargs):
        super().__init__(module, **kwargs)
        self.pretrained = pretrained

    # -- what reaches the model ---------------------------------------------------------

    def _remember_vocabulary(self, X):
        name = type(self).__name__
        if X.tokenizer_name == "MxDNATokenizer" and self._architecture != "mxdna":
            raise ValueError(
                f"{name} got MxDNATokenizer output, but the learned MxDNA units live in that "
                f"tokenizer's network, which only MxDNAClassifier and MxDNARegressor read; "
                f"{name} would see bare nucleotides. Use an MxDNA estimator, or CharTokenizer "
                f"for a nucleotide-level {name}."
            )
        if self._pretrained_from_tokenizer() and self._architecture != "mxdna":
            raise ValueError(
                f"pretrained='tokenizer' starts from an MxDNATokenizer's network and is for "
                f"MxDNAClassifier and MxDNARegressor; {name} takes a fitted pretrainer "
                f"(e.g. MaskedLMPretrainer) or a folder written by save_pretrained."
            )
        pooling = self.get_params_for("module").get("pooling")
        if pooling == "cls" and not starts_with_cls(X):
            raise ValueError(
                f"module__pooling='cls' reads the [CLS] token, but the {X.tokenizer_name} output has "
                f"no [CLS] first (add_special_tokens=False?). Use module__pooling='mean' or "
                f"add_special_tokens=True."
            )
        super()._remember_vocabulary(X)

    def _pretrained_from_tokenizer(self):
        """``pretrained="tokenizer"``: start from the network of the tokenizer before."""
        return isinstance(self.pretrained, str) and self.pretrained == "tokenizer"

    # -- initialisation ---------------------------------------------------------------

    def initialize_module(self):
        """Build the module sized from the tokenizer, from pretrained weights if any."""
        kwargs = self._module_kwargs()
        pretrained = self._load_pretrained()
        if pretrained is not None:
            user = self.get_params_for("module")
            fixed = {k: v for k, v in pretrained.config.items()
                     if k not in _TUNABLE and k not in self._data_parameter_names()}
            conflicts = {k: (user[k], v) for k, v in fixed.items() if k in user and user[k] != v}
            if conflicts:
                described = ", ".join(f"module__{k}={ours} (pretrained: {theirs})" for k, (ours, theirs) in conflicts.items())
                raise ValueError(
                    f"The pretrained encoder fixes the model's sizes, but {described}. "
                    f"Drop these parameters or match them."
                )
            kwargs.update(fixed)
        self.module_ = self._module_class()(**kwargs)
        if pretrained is not None:
            self.module_.encoder.load_state_dict(pretrained.state_dict)
            self._load_pretrained_head(pretrained)
        return self

    def _load_pretrained_head(self, pretrained):
        """Copy the released head weights the module has room for (same name and shape).

        Only for module classes that say their head names follow the released
        checkpoint's (``loads_pretrained_head``): a DNABERT-2 masked-LM head, or the
        pooler and classifier of a fine-tuned checkpoint with as many classes.
        """
        if not getattr(type(self.module_), "loads_pretrained_head", False):
            return
        own = self.module_.state_dict()
        head = pretrained.head_state_dict or {}
        fitting = {k: v for k, v in head.items() if k in own and own[k].shape == v.shape}
        self.module_.load_state_dict(fitting, strict=False)
        if any(k.startswith("pooler.") for k in own) and not any(k.startswith("pooler.") for k in fitting):
            import warnings

            warnings.warn(
                "module__pooling='pooler' reads a pooler the pretrained weights do not have "
                "(DNABERT-2's released model has none), so it starts random: fine for fine-tuning, "
                "meaningless for embeddings. Use module__pooling='mean' to embed.", UserWarning, stacklevel=3,
            )

    def _load_pretrained(self):
        if self.pretrained is None:
            return None
        pretrained = load_pretrained(self._pretrained_source())
        expected = getattr(self._module_class(), "architecture", self._architecture)
        if pretrained.architecture != expected:
            raise ValueError(
                f"{type(self).__name__} builds a {expected!r} model, but the pretrained "
                f"model is a {pretrained.architecture!r} one; use the matching estimator."
            )
        if pretrained.vocab_fingerprint != self.vocab_fingerprint_:
            raise ValueError(
                f"The pretrained model was trained on {pretrained.tokenizer_name} tokens with "
                f"another vocabulary than the {self.tokenizer_name_} output given here "
                f"(fingerprints {pretrained.vocab_fingerprint} and {self.vocab_fingerprint_}). "
                f"Tokenize with the tokenizer the model was pretrained with (for a released "
                f"model: BPETokenizer(pretrained=...) with the same folder or hub id)."
            )
        return pretrained

    def _pretrained_source(self):
        return self.pretrained

    # -- using a fitted net -----------------------------------------------------------

    def transform(self, X):
        """Pooled embeddings of tokenized sequences.

        Returns
        -------
        embeddings : ndarray of float32, shape (n_sequences, d_model)
        """
        self.check_is_fitted()
        X = self._check_X(X, fitting=False)
        self._check_width(X)
        self.module_.eval()
        outputs = []
        device = self._torch_device()
        with torch.no_grad(), flushing_subnormals(), torch.autocast(
            device_type=device.type, dtype=torch.bfloat16, enabled=bool(self.mixed_precision)
        ):
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                Xi = to_tensor(unpack_data(batch)[0], device=device)
                outputs.append(self.module_.embed(**Xi).float().cpu())
        return torch.cat(outputs).numpy()

    def get_pretrained(self):
        """The fitted network as a :class:`PretrainedEncoder` (weights on the CPU): the
        encoder, and the rest of the model as its head."""
        self.check_is_fitted()
        state = {k: v.detach().cpu().clone() for k, v in self.module_.encoder.state_dict().items()}
        # the rest of the model travels too (a masked-LM head, a pooler): models whose
        # head names match load it (``loads_pretrained_head``), the others ignore it
        head = {k: v.detach().cpu().clone() for k, v in self.module_.state_dict().items() if not k.startswith("encoder.")}
        # the module's own family: MaskedLMPretrainer(module=MxDNAMaskedLM) pretrains MxDNA
        architecture = getattr(type(self.module_), "architecture", self._architecture)
        return PretrainedEncoder(
            architecture, dict(self.module_.encoder_config), state,
            self.tokenizer_name_, self.vocab_fingerprint_, head or None,
        )

    def save_pretrained(self, path):
        """Save the fitted encoder to the folder ``path``, for ``pretrained=path``."""
        save_pretrained(self.get_pretrained(), path)

    def _check_lengths(self, X, y):
        if len(y) != X.n_sequences:
            raise ValueError(
                f"X has {X.n_sequences} sequences but y has {len(y)} targets; give one "
                f"target per sequence."
            )

    @staticmethod
    def _as_array(y):
        return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
