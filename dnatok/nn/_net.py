"""TrainingNet: the one training loop of every dnatok network (skorch's).

The public estimators (``estimators.SequenceClassifier``, ...) build on it, and so
does :class:`dnatok.MxDNATokenizer`, whose fitted state is a pretrained network:
``dnatok`` never imports ``estimators``, so the loop and its controls live here.

What it adds to skorch's ``NeuralNet``:

- input: :class:`dnatok.TokenizedSequences`; the module is sized from it (vocabulary
  size and special-token ids: the ``data_parameters`` a module class names), so no
  size a tokenizer decides is ever given twice;
- training controls as parameters, validated one way (``_parameter_constraints``):
  AdamW with weight decay on matrices only, warm-up + cosine, gradient clipping,
  early stopping, a time budget, checkpoints that resume, bf16 autocast, a progress
  bar, shuffling, ``random_state`` without touching the caller's torch state;
- auxiliary losses returned by the module beside its output (``(output, aux_loss)``,
  skorch's tuple idiom) are added in :meth:`get_loss` with ``aux_loss_weight``.
"""

import contextlib
import os
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    GradientNormClipping,
    PassthroughScoring,
    ProgressBar,
)
from skorch.dataset import ValidSplit, unpack_data
from skorch.exceptions import NotInitializedError
from torch import nn

from .._tokenized import TokenizedSequences
from ._callbacks import EpochCheckpoint, TimeBudget, WarmupCosineLR
from ._masking import IGNORE_INDEX, mask_tokens

__all__ = [
    "DATA_PARAMETERS",
    "MaskedLMNet",
    "MaskedLMTraining",
    "TrainingNet",
    "flushing_subnormals",
    "masked_lm_loss",
    "parameter_groups",
    "seeded",
]

#: module arguments that come from the tokenizer's output unless a module class
#: names others in its ``data_parameters``
DATA_PARAMETERS = ("vocab_size", "pad_token_id")


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


@contextlib.contextmanager
def flushing_subnormals():
    """Flush subnormal floats to zero on the CPU inside the block.

    As a network trains, some of its gradients underflow into the subnormal range
    (below 1.2e-38 in float32), where x86 arithmetic is many times slower: after 10
    epochs a training step took 1.3x as long without this (``benchmarks/subnormals.py``).
    Values that small change no prediction. It reaches the calling thread only, and
    torch cannot report the setting, so the block ends with it off, torch's default.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


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


def masked_lm_loss(logits, labels, criterion=None):
    """Loss over chosen positions; 0 (with a gradient) when a batch has none.

    ``criterion`` (default: cross-entropy ignoring -100) gets flattened
    ``(n, vocab)`` logits and ``(n,)`` labels.
    """
    if not (labels != IGNORE_INDEX).any():
        return logits.sum() * 0.0
    flat_logits, flat_labels = logits.flatten(0, 1).float(), labels.flatten()
    if criterion is None:
        return F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX)
    return criterion(flat_logits, flat_labels)


class TrainingNet(NeuralNet):
    """skorch ``NeuralNet`` over tokenized DNA with dnatok's training controls.

    Use a subclass (``estimators.SequenceClassifier``, ...); this class is the
    shared loop.

    Parameters
    ----------
    module : torch module class or None, default=None
        None uses the subclass's model. Sizes are set with ``module__d_model=...``
        and so on; ``vocab_size`` and the special-token ids always come from the
        tokenizer's output.
    criterion : torch loss class or None, default=None
        None uses the subclass's loss.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=1e-3
        Peak learning rate, reached after the warm-up.
    max_epochs : int, default=10
        Epochs of training; the learning-rate schedule spans them.
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
        as the uninterrupted fit would have (without ``max_time``). A checkpoint of
        another run is refused; one made on other data is used with a warning.
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
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train further for ``max_epochs`` epochs (``fit`` calls this)."""
        if not self.initialized_:  # called directly: set up as fit does
            X, y = self._prepare_fit(X, y)
            self.initialize()
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
        self.vocab_size_ = X.vocab_size
        self.pad_token_id_ = X.pad_token_id
        self.cls_token_id_ = X.cls_token_id
        self.sep_token_id_ = X.sep_token_id
        self.mask_token_id_ = X.mask_token_id
        self.special_token_ids_ = X.special_token_ids
        self.tokenizer_name_ = X.tokenizer_name
        self.vocab_fingerprint_ = X.vocab_fingerprint

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
        """Module arguments that come from the tokenizer's output."""
        return getattr(self._module_class(), "data_parameters", DATA_PARAMETERS)

    def _module_size_kwargs(self):
        """Module arguments a subclass derives from the targets (e.g. n_classes)."""
        return {}

    def initialize_module(self):
        """Build the module sized from the tokenizer's output."""
        self.module_ = self._module_class()(**self._module_kwargs())
        return self

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.non_deterministic = self.random_state is None
        return tags


class MaskedLMTraining:
    """Masked language modelling steps for a :class:`TrainingNet` (a mixin).

    15% of the real, non-special tokens of every batch are chosen afresh each
    epoch; of those 80% become [MASK], 10% a random token, 10% stay. The loss is
    ``criterion`` (cross-entropy by default) on the chosen tokens. Validation uses
    the same masks every epoch, so its losses are comparable.
    """

    _default_criterion = torch.nn.CrossEntropyLoss

    def __init__(self, module=None, *, mask_probability=0.15, **kwargs):
        super().__init__(module, **kwargs)
        self.mask_probability = mask_probability

    _parameter_constraints = {
        **TrainingNet._parameter_constraints,
        "mask_probability": [Interval(Real, 0, 1, closed="right")],
    }

    def _check_y(self, X, y):
        return None  # self-supervised: labels are ignored

    def initialize(self):
        super().initialize()
        seed = torch.randint(2**31 - 1, (1,)).item()  # from the (seeded) torch state
        self.mask_generator_ = torch.Generator().manual_seed(seed)
        self.validation_mask_seed_ = seed + 1
        return self

    def _masked_batch(self, batch, generator):
        Xi, _ = unpack_data(batch)
        input_ids = torch.as_tensor(Xi["input_ids"])
        masked, labels = mask_tokens(
            input_ids, torch.as_tensor(Xi["attention_mask"]), self.special_token_ids_,
            self.mask_token_id_, self.vocab_size_, generator, self.mask_probability,
        )
        return {**Xi, "input_ids": masked}, labels

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, labels = self._masked_batch(batch, self.mask_generator_)
        output = self.infer(Xi, **fit_params)
        loss = self.get_loss(output, labels, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": output}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, labels = self._masked_batch(batch, self.validation_generator_)
        with torch.no_grad():
            output = self.infer(Xi, **fit_params)
            loss = self.get_loss(output, labels, X=Xi, training=False)
        return {"loss": loss, "y_pred": output}

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.validation_generator_ = torch.Generator().manual_seed(self.validation_mask_seed_)

    def _criterion_loss(self, y_pred, y_true):
        """``criterion`` over the chosen tokens only; 0 for a batch with none."""
        return masked_lm_loss(y_pred, y_true.to(y_pred.device), self.criterion_)

    def score(self, X, y=None):
        """Masked-token accuracy on X with fixed masks (higher is better)."""
        self.check_is_fitted()
        X = self._check_X(X, fitting=False)
        generator = torch.Generator().manual_seed(self.validation_mask_seed_)
        correct = total = 0
        self.module_.eval()
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                Xi, labels = self._masked_batch(batch, generator)
                output = self.infer(Xi)
                logits = output[0] if isinstance(output, tuple) else output
                chosen = labels != IGNORE_INDEX
                correct += (logits.argmax(-1).cpu()[chosen] == labels[chosen]).sum().item()
                total += chosen.sum().item()
        return correct / max(total, 1)


class MaskedLMNet(MaskedLMTraining, TrainingNet):
    """Masked-LM pretraining of any module ``forward(input_ids, attention_mask)`` that
    returns ``(B, L, vocab)`` logits (or ``(logits, aux_loss)``).

    ``dnatok.MxDNATokenizer`` pretrains its network with it; the public estimator is
    ``estimators.MaskedLMPretrainer``.

    Parameters
    ----------
    module : torch module class
    mask_probability : float, default=0.15
    **kwargs
        As :class:`TrainingNet`.
    """
