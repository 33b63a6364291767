"""skorch callbacks of the dnatok estimators."""

import math
import time

from skorch.callbacks import Callback

from ._masking import warmup_cosine

__all__ = ["TimeBudget", "WarmupCosineLR"]


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
