"""Training steps with subnormal floats flushed to zero on one thread or all, against IEEE.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.subnormals [--epochs 10]

Trains ``CharTokenizer() + SequenceClassifier()`` (default size, seed 0, 2 torch
threads) on the GUE prom_core_tata training sequences for ``--epochs`` epochs, as
the training loop runs (subnormals flushed on every thread). Before training and
after some of its epochs, it times training steps (forward, backward, clipping,
AdamW) on the same 5 batches three ways, interleaved, median of 10 blocks:

- ``IEEE``: torch's default arithmetic;
- ``caller only``: ``torch.set_flush_denormal(True)``, which sets the calling
  thread; torch's OpenMP threads, started before, keep IEEE arithmetic (what
  ``flushing_subnormals`` did until 2026-12-07);
- ``all threads``: :func:`dnatok.training.flushing_subnormals`, which now hands
  the mode to every thread of torch's OpenMP team.

It also counts the subnormal values one IEEE step makes (module outputs in the
forward pass, gradients with respect to them in the backward pass), which is why
the IEEE step slows down as the model trains.

Rewrites the "subnormals" section of RESULTS.md.
"""

import argparse
import contextlib
import statistics
import time

import torch
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from benchmarks._report import SHARED_DATA, write_section
from dnatok import CharTokenizer, read_sequence_csv
from dnatok.training import flushing_subnormals
from estimators import SequenceClassifier

TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32


@contextlib.contextmanager
def caller_only():
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


WAYS = {"IEEE": contextlib.nullcontext, "caller only": caller_only, "all threads": flushing_subnormals}


def count_subnormals(net, batch):
    """Subnormal values in module outputs and output gradients of one IEEE training step."""
    counts = {"forward": 0, "backward": 0, "values": 0}

    def tally(kind, tensors):
        for t in tensors:
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                counts[kind] += int(((t != 0) & (t.abs() < TINY)).sum())
                counts["values"] += t.numel() if kind == "forward" else 0

    handles = []
    for module in net.module_.modules():
        handles.append(module.register_forward_hook(lambda m, i, o: tally("forward", o if isinstance(o, tuple) else (o,))))
        handles.append(module.register_full_backward_hook(lambda m, gi, go: tally("backward", go)))
    try:
        net.module_.train()
        Xi, yi = unpack_data(batch)
        loss = net.get_loss(net.infer(Xi), yi.to(torch.long), training=True)
        loss.backward()
        net.optimizer_.zero_grad()
    finally:
        for handle in handles:
            handle.remove()
    return counts


class TimeSteps(Callback):
    """Time the three ways at the start and after the chosen epochs."""

    def __init__(self, batches, after_epochs, blocks=10):
        self.batches = batches
        self.after_epochs = after_epochs
        self.blocks = blocks

    def initialize(self):
        self.rows_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.measure(net, 0)

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) in self.after_epochs:
            self.measure(net, len(net.history))

    def measure(self, net, epoch):
        # callbacks run between the loop's epochs, outside its flushed block: IEEE here
        counts = count_subnormals(net, self.batches[0])
        times = {way: [] for way in WAYS}
        for _ in range(self.blocks):  # interleaved, so drift hits every way alike
            for way, context in WAYS.items():
                start = time.perf_counter()
                with context():
                    for batch in self.batches:
                        net.train_step(batch)
                times[way].append((time.perf_counter() - start) / len(self.batches))
        per_step = {way: statistics.median(seconds) for way, seconds in times.items()}
        self.rows_.append((epoch, per_step, counts))
        print(f"after epoch {epoch}: " + ", ".join(f"{way} {s * 1000:.0f} ms" for way, s in per_step.items())
              + f" per step; {counts}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    X, y = read_sequence_csv(SHARED_DATA / "gue" / "prom" / "prom_core_tata" / "train.csv")
    tokenizer = CharTokenizer().fit(X)
    net = SequenceClassifier(max_epochs=args.epochs, random_state=0)
    net.fit(tokenizer.transform(X[:32]), y[:32])  # builds the module to make batches with; refit below
    batches = list(net.get_iterator(net.get_dataset(tokenizer.transform(X[:160]), y[:160]), training=True))
    after = sorted({max(1, args.epochs // 3), max(1, 2 * args.epochs // 3), args.epochs})
    timer = TimeSteps(batches, after)
    net.set_params(callbacks=[("time_steps", timer)])
    net.fit(tokenizer.transform(X), y)

    rows = [
        f"| {epoch} | " + " | ".join(f"{p[way] * 1000:.0f}" for way in WAYS)
        + f" | {p['IEEE'] / p['all threads']:.2f}x | {p['caller only'] / p['all threads']:.2f}x | "
        f"{c['forward']:,} of {c['values']:,} | {c['backward']:,} |"
        for epoch, p, c in timer.rows_
    ]
    body = "\n".join([
        "## Training steps: subnormal floats flushed to zero",
        "",
        f"CharTokenizer + SequenceClassifier (default size, seed 0) trained on the GUE "
        f"prom_core_tata training sequences ({len(X):,}, 300 nt) for {args.epochs} epochs, as the "
        "training loop runs. At the start and after some epochs, one training step (forward, "
        "backward, clipping, AdamW; batch 32) timed three ways on the same 5 batches, "
        "interleaved, median of 10 blocks, 2 torch threads: IEEE arithmetic (torch's "
        "default); subnormals flushed on the calling thread only (`torch.set_flush_denormal`, "
        "what `flushing_subnormals` did until 2026-12-07: torch's OpenMP threads keep the "
        "mode they started with); flushed on every thread (`dnatok.training.flushing_subnormals` "
        "now, which the loop wraps around every training and validation epoch and every "
        "prediction). The last two columns count the subnormal values one IEEE step makes in "
        "module outputs (forward) and in the gradients flowing back through them (backward).",
        "",
        "| after epoch | IEEE (ms/step) | caller only (ms/step) | all threads (ms/step) | IEEE / all | "
        "caller only / all | subnormal outputs | subnormal output gradients |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ])
    write_section("subnormals", body)


if __name__ == "__main__":
    main()
