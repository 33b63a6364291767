"""Training steps with subnormal floats flushed to zero, against IEEE arithmetic.

Run from the repository root, with nothing else busy on the machine:

    python benchmarks/subnormals.py

Trains a CharTokenizer + SequenceClassifier (default size, seed 0, 2 torch threads)
on the GUE prom_core_tata training sequences for ``--epochs`` epochs (what
``TrainingNet`` does now: subnormals flushed while it trains). Before training and
after some of its epochs, it times training steps (forward, backward, clipping,
AdamW) on the same batches both ways, interleaved, median of 10 blocks of 5 steps:

- ``IEEE``: torch's default arithmetic, what the training loop used before
  2026-12-06;
- ``flushed``: inside :func:`dnatok.nn.flushing_subnormals`, as the loop now runs.

It also counts the subnormal values the step makes with IEEE arithmetic (module
outputs in the forward pass, gradients with respect to them in the backward pass),
which explains why the IEEE step slows down as the model trains.

Rewrites the "subnormals" section of RESULTS.md.
"""

import argparse
import contextlib
import sys
from pathlib import Path

# benchmarks/tokenizers.py would shadow the HF `tokenizers` package: take this
# folder off the import path and reach the helpers through the repository root
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE.parent)]

import torch  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402
from skorch.dataset import unpack_data  # noqa: E402

from benchmarks._report import SHARED_DATA, median_times, write_section  # noqa: E402
from dnatok import CharTokenizer, read_sequence_csv  # noqa: E402
from dnatok.nn import flushing_subnormals  # noqa: E402
from estimators import SequenceClassifier  # noqa: E402

TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32


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
    """Time IEEE and flushed training steps at the start and after the chosen epochs."""

    def __init__(self, batches, after_epochs):
        self.batches = batches
        self.after_epochs = after_epochs

    def initialize(self):
        self.rows_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.measure(net, 0)

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) in self.after_epochs:
            self.measure(net, len(net.history))

    def measure(self, net, epoch):
        # callbacks run between skorch's epochs, outside the flushed block: IEEE here
        counts = count_subnormals(net, self.batches[0])

        def step(arithmetic):
            with arithmetic():
                for batch in self.batches:
                    net.train_step(batch)

        times = median_times({"IEEE": contextlib.nullcontext, "flushed": flushing_subnormals}, step)
        per_step = {way: seconds / len(self.batches) for way, seconds in times.items()}
        self.rows_.append((epoch, per_step, counts))
        print(f"after epoch {epoch}: IEEE {per_step['IEEE'] * 1000:.0f} ms, flushed "
              f"{per_step['flushed'] * 1000:.0f} ms per step; {counts}", flush=True)


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
        f"| {epoch} | {p['IEEE'] * 1000:.0f} | {p['flushed'] * 1000:.0f} | {p['IEEE'] / p['flushed']:.2f}x | "
        f"{c['forward']:,} of {c['values']:,} | {c['backward']:,} |"
        for epoch, p, c in timer.rows_
    ]
    body = "\n".join([
        "## Training steps: subnormal floats flushed to zero",
        "",
        f"CharTokenizer + SequenceClassifier (default size, seed 0) trained on the GUE "
        f"prom_core_tata training sequences ({len(X):,}, 300 nt) for {args.epochs} epochs. At the "
        "start and after some epochs, one training step (forward, backward, clipping, AdamW; "
        "batch 32) timed with IEEE arithmetic (the loop before 2026-12-06) and with subnormals "
        "flushed to zero (`dnatok.nn.flushing_subnormals`, which `TrainingNet` now wraps "
        "around every training and validation epoch and every prediction), on the same 5 "
        "batches, interleaved, median of 10 blocks, 2 torch threads. The last two columns "
        "count the subnormal values one IEEE step makes in module outputs (forward) and in "
        "the gradients flowing back through them (backward).",
        "",
        "| after epoch | IEEE (ms/step) | flushed (ms/step) | speed-up | subnormal outputs | subnormal output gradients |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ])
    write_section("subnormals", body)


if __name__ == "__main__":
    main()
