"""SequenceNet: what every dnatok estimator shares on top of skorch's NeuralNet.

- It takes the output of a dnatok tokenizer (:class:`dnatok.TokenizedSequences`)
  and sizes its module from it: vocabulary size and [PAD] id come from the
  tokenizer, so ``make_pipeline(KmerTokenizer(k=6), SequenceClassifier())`` needs
  no manual ``vocab_size``. At predict time it checks that the vocabulary is the
  one it was fitted on.
- Training controls are parameters: AdamW, warm-up + cosine schedule, gradient
  clipping, early stopping on a (stratified) validation split, checkpoints that
  let an interrupted fit resume, bf16 mixed precision, any ``device``.
- ``random_state`` makes fits reproducible without touching the caller's global
  torch random state.
- ``pretrained`` starts the encoder from a fitted pretrainer or a saved folder.
- ``transform`` gives pooled embeddings, so a fitted net is also a featurizer.
"""

import numbers

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from skorch import NeuralNet
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LoadInitState,
    ProgressBar,
)
from skorch.dataset import ValidSplit, unpack_data
from skorch.exceptions import NotInitializedError
from skorch.utils import to_tensor

from dnatok import TokenizedSequences
from dnatok.nn import seeded

from ._callbacks import TimeBudget, WarmupCosineLR
from dnatok.nn import PretrainedEncoder, load_pretrained, save_pretrained

__all__ = ["SequenceNet"]

# pretrained-encoder settings that fine-tuning may change; all others are fixed
_TUNABLE = ("dropout", "jitter")


class SequenceNet(TransformerMixin, NeuralNet):
    """Base class of the dnatok estimators; use a subclass.

    Parameters
    ----------
    module : torch module class or None, default=None
        None uses the subclass's model (e.g. ``SequenceClassificationModel``). Its
        sizes are set with ``module__d_model=...``, ``module__n_layers=...`` and so
        on; ``vocab_size`` and ``pad_token_id`` always come from the tokenizer.
    criterion : torch loss class or None, default=None
        None uses the subclass's loss.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=1e-3
        Peak learning rate, reached after the warm-up.
    max_epochs : int, default=10
        Epochs of training; the learning-rate schedule spans them.
    max_time : float or None, default=None
        Stop training after this many seconds (checked after each batch), even if
        epochs remain.
    batch_size : int, default=32
    warmup_fraction : float, default=0.1
        Fraction of training steps of linear warm-up before cosine decay to 0.
        None keeps ``lr`` constant.
    gradient_clip_value : float or None, default=1.0
        Largest gradient norm; None disables clipping.
    early_stopping : int or None, default=None
        Patience in epochs: stop when the validation loss has not improved for this
        many epochs and restore the best weights. Holds out
        ``validation_fraction`` of the data (stratified for classifiers).
    validation_fraction : float, default=0.1
        Held-out fraction when ``early_stopping`` is set.
    checkpoint_dir : str or path-like or None, default=None
        Save the model, optimizer and history there after every epoch; a later fit
        with the same folder resumes from the last checkpoint and runs only the
        remaining epochs.
    pretrained : fitted estimator, str, path-like or None, default=None
        Start the encoder from these weights: a fitted :class:`MaskedLMPretrainer`
        (or any fitted dnatok estimator) or a folder written by
        :meth:`save_pretrained`. Encoder sizes come from it.
    mixed_precision : bool, default=False
        Run forward passes under bf16 autocast (GPUs with bf16, recent CPUs).
    random_state : int, RandomState instance or None, default=None
        Seed for weight initialisation, shuffling, dropout, masking and the
        validation split. The caller's global torch random state is left as it
        was.
    train_split : callable or None, default=None
        skorch's validation split; None means none, unless ``early_stopping`` asks
        for one.
    callbacks : list or None, default=None
        More skorch callbacks.
    verbose : int, default=0
        1 prints a progress bar and one line per epoch.
    device : str, default="cpu"
        ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...
    **kwargs
        Other skorch parameters (``module__*``, ``optimizer__*``, ``iterator_*``).
    """

    _default_module = None
    _default_criterion = None
    _stratify = False
    #: the model family, checked against pretrained weights
    _architecture = "transformer"

    def __init__(
        self,
        module=None,
        *,
        criterion=None,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=10,
        max_time=None,
        batch_size=32,
        warmup_fraction=0.1,
        gradient_clip_value=1.0,
        early_stopping=None,
        validation_fraction=0.1,
        checkpoint_dir=None,
        pretrained=None,
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
        self.gradient_clip_value = gradient_clip_value
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.pretrained = pretrained
        self.mixed_precision = mixed_precision
        self.random_state = random_state

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
        X = self._check_X(X, fitting=True)
        y = self._check_y(X, y)
        self._validate_training_params()
        self._remember_vocabulary(X)
        with self._seeded():
            super().fit(X, y, **fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train further for ``max_epochs`` epochs (``fit`` calls this)."""
        if not self.initialized_:  # called directly: set up as fit does
            X = self._check_X(X, fitting=True)
            y = self._check_y(X, y)
            self._remember_vocabulary(X)
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def _validate_training_params(self):
        def number(value, kind=numbers.Real):
            return isinstance(value, kind) and not isinstance(value, bool)

        problems = {
            "max_epochs": (number(self.max_epochs, numbers.Integral) and self.max_epochs >= 0, "an int >= 0"),
            "batch_size": (number(self.batch_size, numbers.Integral) and self.batch_size >= 1, "an int >= 1"),
            "lr": (number(self.lr) and self.lr > 0, "a number > 0"),
            "validation_fraction": (number(self.validation_fraction) and 0 < self.validation_fraction < 1, "in (0, 1)"),
            "warmup_fraction": (self.warmup_fraction is None or (number(self.warmup_fraction) and 0 <= self.warmup_fraction < 1), "in [0, 1) or None"),
            "early_stopping": (self.early_stopping is None or (number(self.early_stopping, numbers.Integral) and self.early_stopping >= 1), "the patience in epochs (an int >= 1) or None"),
            "max_time": (self.max_time is None or (number(self.max_time) and self.max_time > 0), "a number of seconds > 0 or None"),
            "gradient_clip_value": (self.gradient_clip_value is None or (number(self.gradient_clip_value) and self.gradient_clip_value > 0), "a number > 0 or None"),
        }
        for name, (valid, expected) in problems.items():
            if not valid:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}.")

    def _remember_vocabulary(self, X):
        self.vocab_size_ = X.vocab_size
        self.pad_token_id_ = X.pad_token_id
        self.special_token_ids_ = X.special_token_ids
        self.mask_token_id_ = X.mask_token_id
        self.tokenizer_name_ = X.tokenizer_name
        self.vocab_fingerprint_ = X.vocab_fingerprint
        self.tokenizer_pretrained_ = X.tokenizer.get_pretrained() if self.pretrained == "tokenizer" else None

    def _seeded(self):
        """Seed torch for the fit, leaving the caller's random state as it was."""
        seed = None if self.random_state is None else int(check_random_state(self.random_state).randint(2**31 - 1))
        return seeded(seed, self._torch_device())

    # -- initialisation ---------------------------------------------------------------

    def initialize_module(self):
        """Build the module sized from the tokenizer, from pretrained weights if any."""
        user = self.get_params_for("module")
        from_data = {"vocab_size": self.vocab_size_, "pad_token_id": self.pad_token_id_, **self._module_size_kwargs()}
        kwargs = {**user, **from_data}
        pretrained = self._load_pretrained()
        if pretrained is not None:
            fixed = {k: v for k, v in pretrained.config.items() if k not in _TUNABLE and k not in from_data}
            conflicts = {k: (user[k], v) for k, v in fixed.items() if k in user and user[k] != v}
            if conflicts:
                described = ", ".join(f"module__{k}={ours} (pretrained: {theirs})" for k, (ours, theirs) in conflicts.items())
                raise ValueError(
                    f"The pretrained encoder fixes the model's sizes, but {described}. "
                    f"Drop these parameters or match them."
                )
            kwargs.update(fixed)
        self.module_ = (self.module or self._default_module)(**kwargs)
        if pretrained is not None:
            self.module_.encoder.load_state_dict(pretrained.state_dict)
        return self

    def _module_size_kwargs(self):
        """Module arguments a subclass derives from the data (e.g. n_classes)."""
        return {}

    def initialize_criterion(self):
        """The subclass's loss unless ``criterion`` is given."""
        kwargs = self.get_params_for("criterion")
        self.criterion_ = self.initialized_instance(self.criterion or self._default_criterion, kwargs)
        return self

    def _load_pretrained(self):
        if self.pretrained is None:
            return None
        pretrained = self.tokenizer_pretrained_ if self.pretrained == "tokenizer" else load_pretrained(self.pretrained)
        if pretrained.architecture != self._architecture:
            raise ValueError(
                f"{type(self).__name__} builds a {self._architecture!r} model, but the pretrained "
                f"model is a {pretrained.architecture!r} one; use the matching estimator."
            )
        if pretrained.vocab_fingerprint != self.vocab_fingerprint_:
            raise ValueError(
                f"The pretrained model was trained on {pretrained.tokenizer_name} tokens with "
                f"another vocabulary than the {self.tokenizer_name_} output given here "
                f"(fingerprints {pretrained.vocab_fingerprint} and {self.vocab_fingerprint_}). "
                f"Tokenize with the tokenizer the model was pretrained with."
            )
        return pretrained

    def get_default_callbacks(self):
        callbacks = [
            (name, callback)
            for name, callback in super().get_default_callbacks()
            if self.verbose or name != "print_log"
        ]
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        if self.checkpoint_dir is not None:
            checkpoint = Checkpoint(dirname=str(self.checkpoint_dir), monitor=None, f_criterion=None)
            callbacks += [("checkpoint", checkpoint), ("resume", LoadInitState(checkpoint))]
        if self.warmup_fraction is not None:
            callbacks.append(("lr_schedule", WarmupCosineLR(self.warmup_fraction)))
        if self.gradient_clip_value is not None:
            callbacks.append(("gradient_clip", GradientNormClipping(self.gradient_clip_value)))
        if self.max_time is not None:
            callbacks.append(("time_budget", TimeBudget(self.max_time)))
        if self.early_stopping is not None:
            callbacks.append(("early_stopping", EarlyStopping(patience=self.early_stopping, load_best=True)))
        return callbacks

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
        return split(dataset, y, **fit_params)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Resuming from a checkpoint runs only the epochs still to do."""
        if epochs is None and self.checkpoint_dir is not None:
            epochs = max(self.max_epochs - len(self.history), 0)
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    # -- steps ------------------------------------------------------------------------

    def infer(self, x, **fit_params):
        """Forward pass, under bf16 autocast with ``mixed_precision``."""
        if not self.mixed_precision:
            return super().infer(x, **fit_params)
        with torch.autocast(device_type=self._torch_device().type, dtype=torch.bfloat16):
            output = super().infer(x, **fit_params)
        return output.float()

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
        X = self._check_X(X, fitting=False) if isinstance(X, dict) else X
        yield from super().forward_iter(X, training=training, device=device)

    def transform(self, X):
        """Pooled embeddings of tokenized sequences.

        Returns
        -------
        embeddings : ndarray of float32, shape (n_sequences, d_model)
        """
        self.check_is_fitted()
        X = self._check_X(X, fitting=False)
        self.module_.eval()
        outputs = []
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                Xi = to_tensor(unpack_data(batch)[0], device=self.device)
                outputs.append(self.module_.embed(**Xi).float().cpu())
        return torch.cat(outputs).numpy()

    def get_pretrained(self):
        """The fitted encoder as a :class:`PretrainedEncoder` (weights on the CPU)."""
        self.check_is_fitted()
        state = {k: v.detach().cpu().clone() for k, v in self.module_.encoder.state_dict().items()}
        return PretrainedEncoder(
            self._architecture, dict(self.module_.encoder_config), state,
            self.tokenizer_name_, self.vocab_fingerprint_,
        )

    def save_pretrained(self, path):
        """Save the fitted encoder to the folder ``path``, for ``pretrained=path``."""
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
        max_length = self._max_length()
        width = X["input_ids"].shape[1]
        if max_length is not None and width > max_length:
            raise ValueError(
                f"The sequences are {width} tokens long, more than the model accepts "
                f"(max_length={max_length}). Truncate them in the tokenizer "
                f"(max_length={max_length}) or build a larger model (module__max_length)."
            )
        return X

    def _max_length(self):
        if getattr(self, "initialized_", False):
            return self.module_.encoder.max_length
        return self.get_params_for("module").get("max_length", 1024)

    def _check_y(self, X, y):
        """Subclasses validate and encode targets."""
        return y

    def _check_lengths(self, X, y):
        if len(y) != X.n_sequences:
            raise ValueError(
                f"X has {X.n_sequences} sequences but y has {len(y)} targets; give one "
                f"target per sequence."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.non_deterministic = self.random_state is None
        return tags

    @staticmethod
    def _as_array(y):
        return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
