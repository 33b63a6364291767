"""skorch callbacks of the dnatok estimators."""

import contextlib
import glob
import hashlib
import json
import math
import os
import time
import warnings
import zipfile

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

from ..nn._weights import check_weight_values
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

    The file carries a SHA-256 digest of all it holds (every tensor's bytes, the
    history, the identity of the run and its data), checked before a fit resumes
    from it: a file changed after it was written (a disk or copy error, an edit) is
    refused, and so is one whose model weights hold NaN or inf (a diverged fit), or
    one of an older format, which has no digest. The folder is checked when training
    starts, before the first epoch: it must be (or become) a folder this process can
    write a file into, with no folder in the checkpoint file's place.

    Register :meth:`restorer` first among the callbacks (history and random states
    must be back before anything else reads them) and this callback last (it saves
    what the others recorded for the epoch).

    Parameters
    ----------
    dirname : str or path-like
    """

    _FILE = "checkpoint.pt"
    # 2: the digest; format 1 files (no digest) cannot be verified and are refused
    _FORMAT = 2

    def __init__(self, dirname):
        self.dirname = dirname

    @property
    def path(self):
        return os.path.join(os.fspath(self.dirname), self._FILE)

    @property
    def _partial(self):
        # the temporary file of this process's saves (its pid tells a killed save's leftover)
        return f"{self.path}.{os.getpid()}.partial"

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
            "format": self._FORMAT,
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
        state["digest"] = _content_digest(state)
        os.makedirs(self.dirname, exist_ok=True)
        partial = self._partial
        try:
            torch.save(state, partial)
            os.replace(partial, self.path)  # atomic: the old checkpoint or the new, never half
        except BaseException:
            with contextlib.suppress(OSError):  # a failed save (disk full, ...) leaves no partial file
                os.remove(partial)
            raise

    # -- checking the folder -------------------------------------------------------------

    def check_folder(self):
        """Refuse a folder the checkpoint cannot be saved in, before any epoch is spent.

        Creates the folder when missing, and writes and removes the temporary file
        that saves use (a file left by a killed process is cleaned up by
        :meth:`load`).

        Raises
        ------
        OSError
            Naming the path: ``checkpoint_dir`` is a file or cannot be created or
            written to, or ``checkpoint.pt`` in it is a folder.
        """
        folder = os.fspath(self.dirname)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise OSError(
                f"checkpoint_dir={folder!r} is a file, not a folder, so no checkpoint can be saved "
                f"in it. Give the path of a folder (a missing one is created), or move the file away."
            )
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise OSError(
                f"checkpoint_dir={folder!r} cannot be created ({error.strerror or error}). Give a "
                f"folder this process can create and write to."
            ) from None
        if os.path.isdir(self.path):
            raise OSError(
                f"{self.path} is a folder, where the checkpoint file goes, so no checkpoint can be "
                f"saved over it. Move or delete that folder, or use another checkpoint_dir."
            )
        # a real write, not os.access: permissions are not all there is (read-only mounts, ACLs)
        probe = self._partial
        try:
            with open(probe, "wb"):
                pass
            os.remove(probe)
        except OSError as error:
            raise OSError(
                f"checkpoint_dir={folder!r} is not writable: no file can be created in it "
                f"({error.strerror or error}). Make it writable, or use another checkpoint_dir."
            ) from None

    # -- loading -----------------------------------------------------------------------

    def load(self, identity):
        """The saved state for this run, or None; refuses a foreign, old or damaged one."""
        for leftover in glob.glob(f"{glob.escape(self.path)}.*.partial"):
            if not _alive(leftover.rsplit(".", 2)[-2]):  # a save killed midway, not a live one
                os.remove(leftover)
        if not os.path.isfile(self.path):
            return None
        remedy = "Delete it to start afresh, or use another checkpoint_dir."
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several kinds for a damaged file
            detail = str(error).splitlines()[0] if str(error) else ""
            damaged = _failed_zip_record(self.path)
            if damaged is not None:
                # the pickle of a damaged file may fail in ways torch words as unsafe
                detail = f"its record {damaged} fails the zip CRC check: the file changed after it was written"
            elif detail.startswith("Weights only load failed") or "weights_only" in detail:
                # torch's message advises weights_only=False, which would run what the
                # file holds: say what it is instead, and never repeat that advice
                detail = "it holds objects other than tensors and checkpoint data, which are never unpickled"
            raise ValueError(
                f"The checkpoint {self.path} cannot be read ({type(error).__name__}: {detail}). {remedy}"
            ) from None
        found = state.get("format") if isinstance(state, dict) else None
        if found != self._FORMAT:
            if isinstance(found, int) and found < self._FORMAT:
                raise ValueError(
                    f"The checkpoint {self.path} was written by an older version of dnatok (format "
                    f"{found}), without the digest that shows it is intact, so it cannot be verified "
                    f"and is not resumed from. {remedy}"
                )
            raise ValueError(
                f"The checkpoint {self.path} is not one this version of dnatok reads (format "
                f"{found!r}; this version writes {self._FORMAT}). {remedy}"
            )
        # before anything is read from it: a damaged identity would pass for another run's
        if _content_digest({k: v for k, v in state.items() if k != "digest"}) != state.get("digest"):
            raise ValueError(
                f"The checkpoint {self.path} is damaged: what it holds does not match the digest "
                f"saved with it, so the file changed after it was written (a disk or copy error, "
                f"or an edit). {remedy}"
            )
        if state.get("identity") != identity:
            raise ValueError(
                f"The checkpoint in {self.dirname} belongs to another run (saved for "
                f"{state.get('identity')}; this fit is {identity}). Use another checkpoint_dir, "
                f"or delete {self.path} to start afresh."
            )
        return state

    def check_values(self, state):
        """Refuse NaN or inf in the weights a loaded state would put into the model."""
        remedy = "delete it to start afresh, or use another checkpoint_dir"
        check_weight_values(self.path, _floating(state["module"]), remedy)
        stopping = state.get("early_stopping") or {}
        if stopping.get("best_weights"):  # restored at the end of the fit
            best = {f"early-stopping best weights {k}": v for k, v in stopping["best_weights"].items()}
            check_weight_values(self.path, _floating(best), remedy)


class _RestoreCheckpoint(Callback):
    """Restores what :class:`EpochCheckpoint` saved, before the other callbacks start."""
    def __init__(self, checkpoint):
        self.checkpoint = checkpoint

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        checkpoint = self.checkpoint
        checkpoint.check_folder()  # now, not after the first epoch's work
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
        checkpoint.check_values(state)
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


def _floating(state_dict):
    """The floating-point tensors of a state dict (integer buffers cannot hold NaN)."""
    return {k: v for k, v in state_dict.items() if torch.is_tensor(v) and v.is_floating_point()}


def _content_digest(state):
    """SHA-256 of a checkpoint's content: every value in a fixed order, tensors' bytes included.

    Dictionaries are walked in sorted key order and every item is written with its
    kind and length, so the digest depends on the content only, not on how torch
    laid it out in the file. A tensor contributes its dtype, shape, strides, offset
    and its whole storage: the bytes torch saves for it.
    """
    digest = hashlib.sha256()
    _feed(digest, state)
    return digest.hexdigest()


def _feed(digest, value):
    def put(kind, payload):
        digest.update(kind + memoryview(payload).nbytes.to_bytes(8, "little"))
        digest.update(payload)

    if isinstance(value, torch.Tensor):
        storage = value.untyped_storage()
        put(b"T", f"{value.dtype} {tuple(value.shape)} {value.stride()} {value.storage_offset()} "
                  f"{storage.nbytes()}".encode())
        # the storage as bytes, whatever the dtype (numpy has no bfloat16)
        put(b"B", torch.empty(0, dtype=torch.uint8).set_(storage.cpu()).numpy())
    elif isinstance(value, dict):
        put(b"D", str(len(value)).encode())
        for key in sorted(value, key=lambda k: (type(k).__name__, repr(k))):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        put(b"L", str(len(value)).encode())
        for item in value:
            _feed(digest, item)
    else:  # str, int, float, bool, None, torch.dtype, ...: repr is exact for them
        put(b"V", f"{type(value).__name__} {value!r}".encode())


def _failed_zip_record(path):
    """The name of the first record of a zip file that fails its CRC check, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError, ValueError):  # not even a readable zip
        return None


def _data_digest(X, y):
    """SHA-256 of the token ids and targets a fit trains on."""
    digest = hashlib.sha256()
    for part in (X["input_ids"], X["attention_mask"]) if X is not None else ():
        digest.update(np.ascontiguousarray(part).tobytes())
    if y is not None:
        digest.update(np.ascontiguousarray(np.asarray(y)).tobytes())
    return digest.hexdigest()
