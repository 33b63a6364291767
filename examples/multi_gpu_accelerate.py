"""Train a dnatok classifier on several GPUs with skorch's accelerate integration.

skorch's ``AccelerateMixin`` hands device placement, data sharding, gradient
synchronisation and mixed precision to Hugging Face ``accelerate``. Mix it into
any dnatok estimator; the pipeline is unchanged:

    # one process per GPU (configure once with `accelerate config`, or pass flags):
    accelerate launch --multi_gpu --num_processes 4 examples/multi_gpu_accelerate.py
    # one process, CPU or a single GPU:
    python examples/multi_gpu_accelerate.py [--cpu]

Every process sees the whole dataset; accelerate shards the batches, so the
effective batch size is ``batch_size * num_processes``. Only the main process
prints. Accelerated nets are unwrapped after training (``unwrap_after_train``),
so the fitted pipeline pickles as usual.
"""

import argparse

from accelerate import Accelerator
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from skorch.hf import AccelerateMixin

from dnatok import KmerTokenizer
from dnatok.datasets import make_motif_classification
from estimators import SequenceClassifier


class AcceleratedSequenceClassifier(AccelerateMixin, SequenceClassifier):
    """SequenceClassifier trained through an ``accelerate.Accelerator``."""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=4000)
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="force the CPU even if GPUs exist")
    parser.add_argument("--mixed-precision", default="no", choices=["no", "bf16", "fp16"])
    args = parser.parse_args()

    accelerator = Accelerator(cpu=args.cpu, mixed_precision=args.mixed_precision)
    X, y = make_motif_classification(args.n_samples, length=100, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

    model = make_pipeline(
        KmerTokenizer(k=4),
        AcceleratedSequenceClassifier(
            accelerator=accelerator,
            device=None,  # accelerate places the model and batches
            module__d_model=64,
            max_epochs=args.max_epochs,
            lr=2e-3,
            random_state=0,
        ),
    )
    model.fit(X_train, y_train)
    accuracy = model.score(X_test, y_test)
    if accelerator.is_main_process:
        print(f"processes: {accelerator.num_processes}, device: {accelerator.device}")
        print(f"test accuracy: {accuracy:.3f}")


if __name__ == "__main__":
    main()
