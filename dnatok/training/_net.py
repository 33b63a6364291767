"""SequenceNet: the one training loop of every dnatok network (skorch's).

Every estimator builds on it (``estimators.SequenceClassifier``, ...,
:class:`MaskedLMPretrainer`), and so does :class:`dnatok.MxDNATokenizer`, whose
fitted state is a pretrained network: ``dnatok`` never imports ``estimators``, so
the loop lives here, above the torch modules of :mod:`dnatok.nn`.

What it adds to skorch's ``NeuralNet``:

- input: :class:`dnatok.TokenizedSequences`; the module is sized from it (vocabulary
  size and special-token ids: the ``data_parameters`` of the module's model
  family), so no size a tokenizer decides is ever given twice, and the family
  refuses what it cannot read;
- ``pretrained``: start from a fitted estimator, a saved or released folder, or
  the network of the tokenizer before it; ``transform`` gives pooled embeddings
  and ``get_pretrained``/``save_pretrained`` hand the network on;
- training controls as parameters, validated one way (``_parameter_constraints``):
  AdamW with weight decay on matrices only, warm-up + cosine, gradient clipping,
  early stopping, a time budget, checkpoints that resume, bf16 autocast, a progress
  bar, shuffling, ``random_state`` without touching the caller's torch state;
- auxiliary losses returned by the module beside its output (``(output, aux_loss)``,
  skorch's tuple idiom) are added in :meth:`get_loss` with ``aux_loss_weight``.
"""

import contextlib
import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_parameter_constraints
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    GradientNormClipping,
    PassthroughScoring,
    ProgressBar,
)
from skorch.dataset import ValidSplit, unpack_data
from skorch.exceptions import NotInitializedError
from skorch.utils import to_tensor
from torch import nn

from .._tokenized import TokenizedSequences
from ..nn import PretrainedWeights, family_of, load_pretrained, save_pretrained
from ._callbacks import EpochCheckpoint, TimeBudget, WarmupCosineLR
from ._subnormals import flushing_subnormals

__all__ = ["SequenceNet", "parameter_groups", "seeded"]

# pretrained-encoder settings that fine-tuning may change; all others are fixed
_TUNABLE = ("dropout", "attention_dropout", "jitter")


@contextlib.contextmanager
def seeded(seed, device="cpu"):
    """Seed torch inside the block and restore the caller's random state after it."""
    if seed is None:
        yield
        return
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def parameter_groups(module, weight_decay):
    """AdamW groups: decay on weight matrices and kernels; none on norms, biases, embeddings.

    Decaying LayerNorm gains pulls them towards 0 and decaying embeddings shrinks
    rare tokens' vectors; neither regularises anything useful (as in BERT and GPT).
    """
    embeddings = {id(m.weight) for m in module.modules() if isinstance(m, nn.Embedding)}
    decay, rest = [], []
    for parameter in module.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim >= 2 and id(parameter) not in embeddings else rest).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


class SequenceNet(TransformerMixin, NeuralNet):
    """skorch ``NeuralNet`` over tokenized DNA with dnatok's training controls.

    The base class of every dnatok estimator; use a subclass
    (``estimators.SequenceClassifier``, :class:`MaskedLMPretrainer`, ...).

    Parameters
    ----------
    module : torch module class or None, default=None
        None uses the subclass's model. Sizes are set with ``module__d_model=...``
        and so on; ``vocab_size`` and the special-token ids always come from the
        tokenizer's output. The module's model family (:func:`dnatok.nn.family_of`)
        decides which tokenizer outputs it reads and which weights it loads.
    pretrained : fitted estimator, "tokenizer", str, path-like or None, default=None
        Start the encoder from these weights: a fitted :class:`MaskedLMPretrainer`
        (or any fitted dnatok estimator or ``MxDNATokenizer``), a folder written by
        :meth:`save_pretrained` or a released model's folder or hub id, or
        ``"tokenizer"``: the network of the tokenizer before it in the pipeline
        (``MxDNATokenizer``). Encoder sizes come from it.
    criterion : torch loss class or None, default=None
        None uses the subclass's loss.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=1e-3
        Peak learning rate, reached after the warm-up.
    max_epochs : int, default=10
        Epochs of training; the learning-rate schedule spans them. 0 builds the
        model without training it: from ``pretrained`` as it is, from the
        checkpoint in ``checkpoint_dir`` as it is, or untrained (a baseline).
    max_time : float or None, default=None
        Stop training after this many seconds (checked after each batch).
    batch_size : int, default=32
    warmup_fraction : float or None, default=0.1
        Fraction of training steps of linear warm-up before cosine decay to 0.
        None keeps ``lr`` constant.
    weight_decay : float, default=0.01
        Decoupled weight decay, on weight matrices and convolution kernels only.
    gradient_clip_value : float or None, default=1.0
        Largest gradient norm; None disables clipping.
    aux_loss_weight : float, default=0.01
        Weight of an auxiliary loss the module returns beside its output
        (MxDNA's load balancing); models that return none ignore it.
    early_stopping : int or None, default=None
        Patience in epochs: stop when the validation loss has not improved for this
        many epochs and restore the best weights. Holds out
        ``validation_fraction`` of the data (stratified for classifiers).
    validation_fraction : float, default=0.1
        Held-out fraction when ``early_stopping`` is set.
    checkpoint_dir : str or path-like or None, default=None
        Save the model, optimizer, history and random states there after every
        epoch, in one file replaced atomically; a later fit with the same folder
        resumes from the last checkpoint and runs only the remaining epochs, exactly
        as the uninterrupted fit would have (without ``max_time``). The folder is
        checked before the first epoch (a file, not writable, ``checkpoint.pt`` a
        folder: refused, naming the path). A checkpoint of another run is refused;
        one made on other data is not used (a warning, and the fit starts afresh);
        one whose contents do not match the SHA-256 digest saved inside it
        (damaged), or that holds NaN/inf weights, is refused, naming the file.
    mixed_precision : bool, default=False
        Run forward passes under bf16 autocast (GPUs with bf16, recent CPUs).
    random_state : int, RandomState instance or None, default=None
        Seed for weight initialisation, shuffling, dropout, masking and the
        validation split. The caller's global torch random state is left as it was.
    train_split : callable or None, default=None
        skorch's validation split; None means none, unless ``early_stopping`` asks
        for one.
    callbacks : list or None, default=None
        More skorch callbacks.
    verbose : int, default=0
        1 prints a progress bar and one line per epoch.
    device : str or None, default="cpu"
        ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...
    **kwargs
        Other skorch parameters (``module__*``, ``optimizer__*``, ``iterator_*``).
        The training data is shuffled every epoch unless
        ``iterator_train__shuffle=False``.
    """

    _default_module = None
    _default_criterion = None
    _stratify = False

    _parameter_constraints = {
        # a class: the net builds it, sized from the data (an instance could not be)
        "module": [type, None],
        "pretrained": [str, os.PathLike, HasMethods(["get_pretrained"]), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "gradient_clip_value": [Interval(Real, 0, None, closed="neither"), None],
        "aux_loss_weight": [Interval(Real, 0, None, closed="left")],
        "early_stopping": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "checkpoint_dir": [str, os.PathLike, None],
        "mixed_precision": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        module=None,
        *,
        pretrained=None,
        criterion=None,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=10,
        max_time=None,
        batch_size=32,
        warmup_fraction=0.1,
        weight_decay=0.01,
        gradient_clip_value=1.0,
        aux_loss_weight=0.01,
        early_stopping=None,
        validation_fraction=0.1,
        checkpoint_dir=None,
        mixed_precision=False,
        random_state=None,
        train_split=None,
        callbacks=None,
        verbose=0,
        device="cpu",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.max_time = max_time
        self.warmup_fraction = warmup_fraction
        self.weight_decay = weight_decay
        self.gradient_clip_value = gradient_clip_value
        self.aux_loss_weight = aux_loss_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.pretrained = pretrained

    # -- fitting ---------------------------------------------------------------------

    def fit(self, X, y=None, **fit_params):
        """Train on tokenized sequences.

        Parameters
        ----------
        X : TokenizedSequences
            Output of a dnatok tokenizer's ``transform`` (``output="ids"``).
        y : array-like or None
            Targets; see the subclass.

        Returns
        -------
        self
        """
        X, y = self._prepare_fit(X, y)
        self._resuming = True  # fit runs the epochs a checkpoint has not done yet
        try:
            with self._seeded():
                super().fit(X, y, **fit_params)
        finally:
            self._resuming = False
            self.__dict__.pop("pretrained_tokenizer_", None)  # used while building, never kept
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train further for ``max_epochs`` epochs (``fit`` calls this)."""
        if not self.initialized_:  # called directly: set up as fit does
            X, y = self._prepare_fit(X, y)
            self.initialize()
            self.__dict__.pop("pretrained_tokenizer_", None)  # used while building, never kept
        self._check_width(X)
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def _prepare_fit(self, X, y):
        """Validate parameters, inputs and targets; remember what the data decides."""
        self._validate_constraints()
        self._check_torch_device()
        X = self._check_X(X, fitting=True)
        y = self._check_y(X, y)
        self._remember_vocabulary(X)
        return X, y

    def _check_torch_device(self):
        """A device this torch can use, refused with the fix before any work."""
        if self.device is None:  # skorch: leave the module where it is
            return
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"device={self.device!r} is not a torch device ({error}); use 'cpu' or 'cuda'.") from None
        backend = getattr(torch, device.type, None) if device.type in ("cuda", "mps", "xpu") else None
        if backend is not None and not backend.is_available():
            raise ValueError(
                f"device={self.device!r}, but this torch cannot use {device.type.upper()} "
                f"(torch.{device.type}.is_available() is False: no such GPU, or a torch built "
                f"without it). Use device='cpu'."
            )

    def _validate_constraints(self):
        """Parameter values against ``_parameter_constraints`` (sklearn's messages)."""
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )

    def _validate_params(self):
        # skorch calls this once the net is built, when its prefixes are known: values,
        # then names (a misspelled modul__d_model would otherwise be ignored)
        self._validate_constraints()
        NeuralNet._validate_params(self)

    def _remember_vocabulary(self, X):
        """What the data decides, after the model family has accepted X."""
        self._check_family_input(X)
        self.vocab_size_ = X.vocab_size
        self.pad_token_id_ = X.pad_token_id
        self.cls_token_id_ = X.cls_token_id
        self.sep_token_id_ = X.sep_token_id
        self.mask_token_id_ = X.mask_token_id
        self.special_token_ids_ = X.special_token_ids
        self.tokenizer_name_ = X.tokenizer_name
        self.vocab_fingerprint_ = X.vocab_fingerprint

    def _family(self):
        return family_of(self._module_class())

    def _check_family_input(self, X):
        """Refuse tokenizer output this estimator's model family cannot read, with the fix."""
        name, family = type(self).__name__, self._family()
        if X.network_family is not None and X.network_family != family.name:
            raise ValueError(
                f"{name} got {X.tokenizer_name} output, but that tokenizer's learned units live in "
                f"its {X.network_family!r} network, which only the estimators of that family read; "
                f"{name} would see bare tokens. Use an estimator of that family, or a rule-based "
                f"tokenizer (e.g. CharTokenizer) for {name}."
            )
        family.check_input(X, name)
        if self._pretrained_from_tokenizer():
            if X.network_family is None:
                raise ValueError(
                    f"{name}(pretrained='tokenizer') starts from the network of the tokenizer "
                    f"before it, but {X.tokenizer_name} has none. Put a tokenizer with a network "
                    f"first (MxDNATokenizer), pass pretrained=None to train from scratch, or give a "
                    f"fitted pretrainer or a folder."
                )
            self.pretrained_tokenizer_ = X.tokenizer
        pooling = self.get_params_for("module").get("pooling")
        if pooling == "cls" and not X.starts_with_cls:
            raise ValueError(
                f"module__pooling='cls' reads the [CLS] token, but the {X.tokenizer_name} output has "
                f"no [CLS] first (add_special_tokens=False?). Use module__pooling='mean' or "
                f"add_special_tokens=True."
            )

    def _pretrained_from_tokenizer(self):
        """``pretrained="tokenizer"``: start from the network of the tokenizer before."""
        return isinstance(self.pretrained, str) and self.pretrained == "tokenizer"

    def _seeded(self):
        """Seed torch for the fit, leaving the caller's random state as it was."""
        seed = None if self.random_state is None else int(check_random_state(self.random_state).randint(2**31 - 1))
        return seeded(seed, self._torch_device())

    # -- initialisation ---------------------------------------------------------------

    def _module_class(self):
        return self.module or self._default_module

    def _module_kwargs(self):
        """The user's ``module__*`` sizes plus what the data decides (one place each)."""
        user = self.get_params_for("module")
        from_data = {name: getattr(self, f"{name}_") for name in self._data_parameter_names()}
        given_twice = sorted(set(user) & set(from_data))
        if given_twice:
            raise ValueError(
                f"{', '.join('module__' + name for name in given_twice)} come(s) from the tokenizer's "
                f"output; drop the parameter(s) and change the tokenizer instead."
            )
        return {**user, **from_data, **self._module_size_kwargs()}

    def _data_parameter_names(self):
        """Module arguments that come from the tokenizer's output: the family's, or
        those a module of no registered family names in its ``data_parameters``."""
        return getattr(self._module_class(), "data_parameters", self._family().data_parameters)

    def _module_size_kwargs(self):
        """Module arguments a subclass derives from the targets (e.g. n_classes)."""
        return {}

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

        Only for model families whose head names follow their released checkpoints'
        (``loads_pretrained_head``): a DNABERT-2 masked-LM head, or the pooler and
        classifier of a fine-tuned checkpoint with as many classes.
        """
        if not self._family().loads_pretrained_head:
            return
        own = self.module_.state_dict()
        head = pretrained.head_state_dict or {}
        fitting = {k: v for k, v in head.items() if k in own and own[k].shape == v.shape}
        self.module_.load_state_dict(fitting, strict=False)
        if any(k.startswith("pooler.") for k in own) and not any(k.startswith("pooler.") for k in fitting):
            warnings.warn(
                "module__pooling='pooler' reads a pooler the pretrained weights do not have "
                "(DNABERT-2's released model has none), so it starts random: fine for fine-tuning, "
                "meaningless for embeddings. Use module__pooling='mean' to embed.", UserWarning, stacklevel=3,
            )

    def _load_pretrained(self):
        """The pretrained weights to start from (None without ``pretrained``), checked."""
        if self.pretrained is None:
            return None
        if self._pretrained_from_tokenizer():
            if "pretrained_tokenizer_" not in self.__dict__:
                raise ValueError(
                    f"{type(self).__name__}(pretrained='tokenizer') takes its network from the "
                    f"tokenizer output given to fit; call fit with it."
                )
            pretrained = load_pretrained(self.pretrained_tokenizer_)
        else:
            pretrained = load_pretrained(self.pretrained)
        family = self._family()
        if pretrained.family != family.name:
            raise ValueError(
                f"{type(self).__name__} builds a {family.name!r} model, but the pretrained "
                f"model is a {pretrained.family!r} one; use the matching estimator."
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

    def initialize_criterion(self):
        """The subclass's loss unless ``criterion`` is given."""
        kwargs = self.get_params_for("criterion")
        self.criterion_ = self.initialized_instance(self.criterion or self._default_criterion, kwargs)
        return self

    def initialize_optimizer(self, triggered_directly=None):
        """AdamW (or ``optimizer``) with weight decay on matrices only."""
        kwargs = {"lr": self.lr, **self.get_params_for("optimizer")}
        if self.optimizer in (torch.optim.Adam, torch.optim.AdamW) and not {"fused", "foreach"} & set(kwargs):
            # one kernel for all tensors instead of ~10 ops per tensor: on CPU the
            # per-tensor loop cost 10 ms a step for MxDNA's 139 tensors, fused 2 ms
            kwargs["fused"] = all(
                p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in self.module_.parameters()
            )
        self.optimizer_ = self.optimizer(parameter_groups(self.module_, self.weight_decay), **kwargs)
        return self

    def get_default_callbacks(self):
        callbacks = [
            (name, callback)
            for name, callback in super().get_default_callbacks()
            if self.verbose or name != "print_log"
        ]
        # epoch means of the auxiliary loss, when the module returns one
        callbacks.append(("train_aux_loss", PassthroughScoring("train_aux_loss", on_train=True)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        checkpoint = None
        if self.checkpoint_dir is not None:
            # restored before any other callback reads the history or draws random numbers
            checkpoint = EpochCheckpoint(self.checkpoint_dir)
            callbacks.insert(0, ("resume", checkpoint.restorer()))
        if self.warmup_fraction is not None:
            callbacks.append(("lr_schedule", WarmupCosineLR(self.warmup_fraction)))
        if self.gradient_clip_value is not None:
            callbacks.append(("gradient_clip", GradientNormClipping(self.gradient_clip_value)))
        if self.max_time is not None:
            callbacks.append(("time_budget", TimeBudget(self.max_time)))
        if self.early_stopping is not None:
            callbacks.append(("early_stopping", EarlyStopping(patience=self.early_stopping, load_best=True)))
        if checkpoint is not None:
            callbacks.append(("checkpoint", checkpoint))  # last: saves what the others recorded
        return callbacks

    def _yield_callbacks(self):
        # skorch puts the user's callbacks after the defaults; the checkpoint must still
        # come last, to save what every callback recorded for the epoch
        items = list(super()._yield_callbacks())
        yield from (item for item in items if not isinstance(item[1], EpochCheckpoint))
        yield from (item for item in items if isinstance(item[1], EpochCheckpoint))

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; the training data is shuffled unless told otherwise."""
        if not training:
            return super().get_iterator(dataset, training=False)
        # a fixed order every epoch lets a model fit the order of the data (GUE files
        # are not guaranteed shuffled); the shuffling follows the seeded torch state
        kwargs = {"batch_size": self.batch_size, "shuffle": True, **self.get_params_for("iterator_train")}
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return self.iterator_train(dataset, **kwargs)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Training and validation datasets; a validation split only when asked for."""
        dataset = self.get_dataset(X, y)
        split = self.train_split
        if split is None and self.early_stopping is not None:
            split = ValidSplit(
                self.validation_fraction,
                stratified=self._stratify,
                random_state=check_random_state(self.random_state).randint(2**31 - 1)
                if self.random_state is not None else None,
            )
        if split is None:
            return dataset, None
        try:
            return split(dataset, y, **fit_params)
        except ValueError as error:  # sklearn's splitter speaks of groups and folds
            if self.train_split is not None:
                raise
            raise ValueError(
                f"early_stopping={self.early_stopping} holds out validation_fraction="
                f"{self.validation_fraction} of the {len(dataset)} sequences"
                + (", stratified by class," if self._stratify else "")
                + f" and that split is impossible here ({error}) Use more sequences, another "
                f"validation_fraction, or early_stopping=None."
            ) from error

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Resuming from a checkpoint runs only the epochs still to do."""
        if epochs is None and self.checkpoint_dir is not None and getattr(self, "_resuming", False):
            epochs = max(self.max_epochs - len(self.history), 0)
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    # -- steps ------------------------------------------------------------------------

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch (training or validation), with subnormal floats flushed."""
        with flushing_subnormals():
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    def evaluation_step(self, batch, training=False):
        """skorch's forward pass for prediction, with subnormal floats flushed."""
        with flushing_subnormals():
            return super().evaluation_step(batch, training=training)

    def infer(self, x, **fit_params):
        """Forward pass, under bf16 autocast with ``mixed_precision``; outputs in float32."""
        with torch.autocast(device_type=self._torch_device().type, dtype=torch.bfloat16,
                            enabled=bool(self.mixed_precision)):
            output = super().infer(x, **fit_params)
        if isinstance(output, tuple):
            return tuple(o.float() for o in output)
        return output.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion's loss, plus ``aux_loss_weight`` times an auxiliary loss in training.

        A module that returns ``(output, aux_loss)`` has its auxiliary loss recorded
        per batch (``train_aux_loss``) and added while training.
        """
        y_pred, aux_loss = y_pred if isinstance(y_pred, tuple) else (y_pred, None)
        loss = self._criterion_loss(y_pred, y_true)
        if training and aux_loss is not None:
            self.history.record_batch("train_aux_loss", aux_loss.item())
            loss = loss + self.aux_loss_weight * aux_loss
        return loss

    def _criterion_loss(self, y_pred, y_true):
        return super().get_loss(y_pred, y_true)

    def _torch_device(self):
        # device=None leaves placement to someone else (e.g. accelerate)
        if self.device is None:
            return next(self.module_.parameters()).device if getattr(self, "module_", None) is not None else torch.device("cpu")
        return torch.device(self.device)

    # -- using a fitted net -----------------------------------------------------------

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        """Raise NotFittedError (skorch's NotInitializedError) unless fitted."""
        if not getattr(self, "initialized_", False) or not hasattr(self, "vocab_fingerprint_"):
            raise NotInitializedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                f"appropriate arguments before using this estimator."
            )

    def forward_iter(self, X, training=False, device="cpu"):
        """skorch's forward iteration, after checking that X matches the fit."""
        self.check_is_fitted()
        X = self._check_X(X, fitting=False)
        self._check_width(X)
        yield from super().forward_iter(X, training=training, device=device)

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
        """The fitted network as :class:`dnatok.nn.PretrainedWeights` (on the CPU): the
        encoder, and the rest of the model as its head."""
        self.check_is_fitted()
        state = {k: v.detach().cpu().clone() for k, v in self.module_.encoder.state_dict().items()}
        # the rest of the model travels too (a masked-LM head, a pooler): families whose
        # head names match load it (``loads_pretrained_head``), the others ignore it
        head = {k: v.detach().cpu().clone() for k, v in self.module_.state_dict().items() if not k.startswith("encoder.")}
        return PretrainedWeights(
            family_of(type(self.module_)).name, dict(self.module_.encoder_config), state,
            self.tokenizer_name_, self.vocab_fingerprint_, head or None,
        )

    def save_pretrained(self, path):
        """Save the fitted network to the folder ``path``, for ``pretrained=path``."""
        save_pretrained(self.get_pretrained(), path)

    # -- input checks -----------------------------------------------------------------

    def _check_X(self, X, fitting):
        name = type(self).__name__
        if not isinstance(X, TokenizedSequences):
            got = "a sparse matrix (use the tokenizer's output='ids')" if hasattr(X, "tocsr") else type(X).__name__
            raise TypeError(
                f"{name} takes tokenized sequences, the output of a dnatok tokenizer's "
                f"transform; got {got}. Put a tokenizer before it, e.g. "
                f"make_pipeline(KmerTokenizer(), {name}())."
            )
        if not fitting and X.vocab_fingerprint != self.vocab_fingerprint_:
            raise ValueError(
                f"X was tokenized with another vocabulary ({X.tokenizer_name}, fingerprint "
                f"{X.vocab_fingerprint}) than the one {name} was fitted on "
                f"({self.tokenizer_name_}, {self.vocab_fingerprint_}). Use the same fitted "
                f"tokenizer for fit and predict, e.g. in one Pipeline."
            )
        return X

    def _check_width(self, X):
        """Refuse inputs wider than the built model accepts (it decides, not a default)."""
        max_length = getattr(getattr(self.module_, "encoder", None), "max_length", None)
        width = X["input_ids"].shape[1]
        if max_length is not None and width > max_length:
            raise ValueError(
                f"The sequences are {width} tokens long, more than the model accepts "
                f"(max_length={max_length}). Truncate them in the tokenizer "
                f"(max_length={max_length}) or build a larger model (module__max_length)."
            )

    def _check_y(self, X, y):
        """Subclasses validate and encode targets."""
        return y

    def _check_lengths(self, X, y):
        if len(y) != X.n_sequences:
            raise ValueError(
                f"X has {X.n_sequences} sequences but y has {len(y)} targets; give one "
                f"target per sequence."
            )

    @staticmethod
    def _as_array(y):
        return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.non_deterministic = self.random_state is None
        return tags
