"""skorch callbacks of the dnatok estimators."""

import glob
import hashlib
import json
import math
import os
import time
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

from ._masking import warmup_cosine

__all__ = ["EpochCheckpoint", "TimeBudget", "WarmupCosineLR"]


class WarmupCosineLR(Callback):
    """Linear warm-up, then cosine decay to zero, stepped every training batch.

    The schedule spans ``net.max_epochs`` epochs of the training split, or, when
    ``net.max_time`` is set and runs out first, that many seconds: the schedule's
    progress is the larger of the share of steps done and the share of the time
    budget spent, so a fit cut short by its budget still warms up and decays
    instead of stopping at the peak learning rate. The step count is recovered
    from the history when training starts, so a fit resumed from a checkpoint
    continues the schedule where it stopped. The learning rate of every batch is
    recorded in the history as ``lr``.

    Parameters
    ----------
    warmup_fraction : float, default=0.1
        Fraction of all training steps spent warming up from 0 to ``net.lr``.
    """

    def __init__(self, warmup_fraction=0.1):
        self.warmup_fraction = warmup_fraction

    def on_train_begin(self, net, **kwargs):
        self.step_ = sum(
            1 for epoch in net.history for batch in epoch["batches"] if "train_loss" in batch
        )
        self.total_steps_ = None
        self.start_ = time.monotonic()

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_steps_ is None:
            batches_per_epoch = math.ceil(len(dataset_train) / net.batch_size)
            self.total_steps_ = max(1, batches_per_epoch * net.max_epochs)

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        step = self.step_
        max_time = getattr(net, "max_time", None)
        if max_time:  # the time budget may end training before the last step
            spent = (time.monotonic() - self.start_) / max_time
            step = max(step, min(spent, 1.0) * self.total_steps_)
        lr = net.lr * self.factor(step, self.total_steps_)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        net.history.record_batch("lr", lr)
        self.step_ += 1

    def factor(self, step, total_steps):
        """Multiplier of the base learning rate at a step."""
        return warmup_cosine(step, total_steps, self.warmup_fraction)


class TimeBudget(Callback):
    """Stop training once ``max_time`` seconds have passed since it started.

    Checked after every training batch; stopping works like skorch's
    ``EarlyStopping`` (a ``KeyboardInterrupt`` that skorch's fit loop catches), so
    the net stays usable and ``on_train_end`` callbacks still run.

    Parameters
    ----------
    max_time : float
        Seconds of training allowed.
    """

    def __init__(self, max_time):
        self.max_time = max_time

    def on_train_begin(self, net, **kwargs):
        self.start_ = time.monotonic()

    def on_batch_end(self, net, training=False, **kwargs):
        if training and time.monotonic() - self.start_ > self.max_time:
            if net.verbose:
                print(f"Stopping: the time budget of {self.max_time:g} s is spent.")
            raise KeyboardInterrupt


class EpochCheckpoint(Callback):
    """Save everything a fit needs to continue exactly, after every epoch, in one file.

    ``<dirname>/checkpoint.pt`` holds the module and optimizer states, the history,
    the random-number states (torch's, and the masked-LM masking generator's), the
    early-stopping state, and what identifies the run (vocabulary, model sizes and
    classes) and its data. It is written to a temporary file and renamed into place,
    so a fit killed at any moment leaves the previous complete checkpoint or the new
    one. A later fit with the same folder continues from it: the remaining epochs
    see the same data order, dropout and learning rates as if nothing had happened
    (exactly so without ``max_time``, whose budget restarts). A checkpoint of another
    run (other vocabulary, sizes or classes) is refused; one made on other data is
    not used (a warning says so, and the fit starts afresh and overwrites it): a
    checkpoint_dir shared by cross-validation folds never hands one fold's model to
    the next.

    Register :meth:`restorer` first among the callbacks (history and random states
    must be back before anything else reads them) and this callback last (it saves
    what the others recorded for the epoch).

    Parameters
    ----------
    dirname : str or path-like
    """

    _FILE = "checkpoint.pt"

    def __init__(self, dirname):
        self.dirname = dirname

    @property
    def path(self):
        return os.path.join(os.fspath(self.dirname), self._FILE)

    def restorer(self):
        """The companion callback that restores a saved state when training begins."""
        return _RestoreCheckpoint(self)

    # -- saving ------------------------------------------------------------------------

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # identity_ and data_ were set by the restorer, which runs first
        # callbacks reset their own state on train begin; put back what was saved
        state = getattr(self, "loaded_", None)
        stopper = dict(net.callbacks_).get("early_stopping")
        if state is not None and stopper is not None and state.get("early_stopping"):
            saved = state["early_stopping"]
            stopper.misses_ = saved["misses"]
            stopper.dynamic_threshold_ = saved["threshold"]
            stopper.best_epoch_ = saved["best_epoch"]
            stopper.best_model_weights_ = saved["best_weights"]
        self.loaded_ = None

    def on_epoch_end(self, net, **kwargs):
        stopper = dict(net.callbacks_).get("early_stopping")
        state = {
            "format": 1,
            "identity": self.identity_,
            "data": self.data_,
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": json.dumps(net.history.to_list(), default=_plain),
            "torch_rng": torch.get_rng_state(),
            # the fit's own device only: a CPU fit never starts a CUDA context
            "cuda_rng": _cuda_rng_state(net),
            "mask_rng": net.mask_generator_.get_state() if hasattr(net, "mask_generator_") else None,
            "early_stopping": None if stopper is None else {
                "misses": int(stopper.misses_), "threshold": float(stopper.dynamic_threshold_),
                "best_epoch": int(stopper.best_epoch_), "best_weights": stopper.best_model_weights_,
            },
        }
        os.makedirs(self.dirname, exist_ok=True)
        partial = f"{self.path}.{os.getpid()}.partial"
        torch.save(state, partial)
        os.replace(partial, self.path)  # atomic: the old checkpoint or the new, never half

    # -- loading -----------------------------------------------------------------------

    def load(self, identity):
        """The saved state for this run, or None; refuses a foreign or damaged one."""
        for leftover in glob.glob(f"{glob.escape(self.path)}.*.partial"):
            if not _alive(leftover.rsplit(".", 2)[-2]):  # a save killed midway, not a live one
                os.remove(leftover)
        if not os.path.isfile(self.path):
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several kinds for a damaged file
            detail = str(error).splitlines()[0] if str(error) else ""
            if detail.startswith("Weights only load failed") or "weights_only" in detail:
                # torch's message advises weights_only=False, which would run what the
                # file holds: say what it is instead, and never repeat that advice
                detail = "it holds objects other than tensors and checkpoint data, which are never unpickled"
            raise ValueError(
                f"The checkpoint {self.path} cannot be read ({type(error).__name__}: {detail}). "
                f"Delete it to start afresh, or use another checkpoint_dir."
            ) from None
        if not isinstance(state, dict) or state.get("format") != 1 or state.get("identity") != identity:
            theirs = state.get("identity") if isinstance(state, dict) else None
            raise ValueError(
                f"The checkpoint in {self.dirname} belongs to another run (saved for {theirs}; "
                f"this fit is {identity}). Use another checkpoint_dir, or delete "
                f"{self.path} to start afresh."
            )
        return state


class _RestoreCheckpoint(Callback):
    """Restores what :class:`EpochCheckpoint` saved, before the other callbacks start."""
    def __init__(self, checkpoint):
        self.checkpoint = checkpoint

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        checkpoint = self.checkpoint
        checkpoint.identity_, checkpoint.data_ = _run_identity(net), _data_digest(X, y)
        state = checkpoint.load(checkpoint.identity_)
        if state is None:
            return
        if state["data"] != checkpoint.data_:
            warnings.warn(
                f"The checkpoint in {self.checkpoint.dirname} was made on other data than this "
                f"fit's, so it is not used: the fit starts afresh and overwrites it. Give each "
                f"fit (each fold, each task) its own checkpoint_dir to keep them.", UserWarning, stacklevel=2,
            )
            return
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history = History(json.loads(state["history"]))
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["cuda_rng"], net._torch_device())
        if state["mask_rng"] is not None and hasattr(net, "mask_generator_"):
            net.mask_generator_.set_state(state["mask_rng"])
        self.checkpoint.loaded_ = state


def _cuda_rng_state(net):
    """The random state of the fit's own CUDA device; None for other devices."""
    device = net._torch_device()
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _alive(pid):
    """Whether the process that wrote a ``.<pid>.partial`` file still runs."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _plain(value):
    """JSON for the numpy scalars skorch's history may hold."""
    return value.item() if hasattr(value, "item") else str(value)


def _run_identity(net):
    """What a checkpoint must share with the fit that resumes it, as a string."""
    return json.dumps({"vocabulary": net.vocab_fingerprint_, "module": net._module_kwargs(),
                       "classes": [str(c) for c in getattr(net, "classes_", [])] or None},
                      sort_keys=True, default=str)


def _data_digest(X, y):
    """SHA-256 of the token ids and targets a fit trains on."""
    digest = hashlib.sha256()
    for part in (X["input_ids"], X["attention_mask"]) if X is not None else ():
        digest.update(np.ascontiguousarray(part).tobytes())
    if y is not None:
        digest.update(np.ascontiguousarray(np.asarray(y)).tobytes())
    return digest.hexdigest()
