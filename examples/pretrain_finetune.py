"""Pretrain on genome windows by masked language modelling, then fine-tune on GUE.

A notebook-style script (each ``# %%`` block is a cell):

1. cut human chr22 into windows, dropping every window that contains a sequence
   of the evaluation task on either strand (the leakage note of the shared data);
2. pretrain a small transformer on the windows with ``MaskedLMPretrainer``;
3. fine-tune a ``SequenceClassifier`` from those weights, and one from scratch,
   on a GUE task, and compare their test Matthews correlation.

    python examples/pretrain_finetune.py [--data ../shared/data] [--windows 20000]

The defaults take about ten minutes on two CPU cores; pass ``--device cuda`` on a
GPU and raise ``--windows`` and the epochs.
"""

# %%
import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import matthews_corrcoef

from dnatok import KmerTokenizer, genome_windows, read_fasta, read_sequence_csv
from estimators import MaskedLMPretrainer, SequenceClassifier

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
parser.add_argument("--task", default="prom/prom_core_tata")
parser.add_argument("--windows", type=int, default=20000, help="pretraining windows to sample")
parser.add_argument("--window-length", type=int, default=210)
parser.add_argument("--pretrain-epochs", type=int, default=3)
parser.add_argument("--finetune-epochs", type=int, default=10)
parser.add_argument("--d-model", type=int, default=128)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

task = args.data / "gue" / args.task
splits = {name: read_sequence_csv(task / f"{name}.csv") for name in ("train", "dev", "test")}
evaluation_sequences = [s for X, _ in splits.values() for s in X]

# %% 1. Pretraining windows from human chr22, without any evaluation sequence
start = time.perf_counter()
records = read_fasta(args.data / "genomes" / "human_hg19_chr22_blocks.fa.gz")
windows = genome_windows(
    records, length=args.window_length, stride=args.window_length, max_n_fraction=0.0,
    uppercase=True, exclude=evaluation_sequences,
)
windows = list(np.random.default_rng(0).choice(windows, size=min(args.windows, len(windows)), replace=False))
print(f"{len(windows)} pretraining windows of {args.window_length} nt ({time.perf_counter() - start:.0f} s)")

# %% 2. Masked-LM pretraining on non-overlapping 6-mers
tokenizer = KmerTokenizer(k=6, stride=6)
model_size = dict(module__d_model=args.d_model, module__n_layers=2, module__n_heads=4)
pretrainer = MaskedLMPretrainer(
    **model_size, max_epochs=args.pretrain_epochs, lr=1e-3, batch_size=64,
    device=args.device, random_state=0, verbose=1,
)
pretrainer.fit(tokenizer.transform(windows))
print(f"masked-token accuracy on 1,000 windows: {pretrainer.score(tokenizer.transform(windows[:1000])):.3f}")

# %% 3. Fine-tune from the pretrained encoder, and from scratch, on the GUE task
X_train, y_train = splits["train"]
X_test, y_test = splits["test"]
for name, start_from in [("pretrained", pretrainer), ("from scratch", None)]:
    classifier = SequenceClassifier(
        pretrained=start_from, **({} if start_from is not None else model_size),
        max_epochs=args.finetune_epochs, lr=5e-4, device=args.device, random_state=0,
    )
    classifier.fit(tokenizer.transform(X_train), y_train)
    predicted = classifier.predict(tokenizer.transform(X_test))
    print(f"{name:13s} test MCC {matthews_corrcoef(y_test, predicted):.3f}")
