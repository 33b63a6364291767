"""In-silico mutagenesis throughput: batched against scoring one mutant at a time.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.inspection

On the demo task (make_motif_classification, 100 nt), for k-mer counts + logistic
regression and a small char transformer (the models of tests/test_inspection.py):
mutants scored per second by ``in_silico_mutagenesis`` (all 300 substitutions of
each of 20 sequences, default batch_size) and by the loop a user writes without it
(``predict_proba([mutant])`` per mutant, timed on 300 mutants), in the same run;
then one 10 kb sequence through the k-mer model: seconds and peak memory
(tracemalloc: Python and numpy allocations). Rewrites the "inspection" section of
RESULTS.md.
"""

import time
import tracemalloc

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from benchmarks._report import write_section
from dnatok import CharTokenizer, KmerTokenizer
from dnatok.datasets import make_motif_classification
from dnatok.inspection import in_silico_mutagenesis


def per_mutant_loop(model, sequence, n_mutants):
    """Seconds per mutant when each is scored alone, as a loop over predict_proba."""
    rng = np.random.default_rng(0)
    positions = rng.integers(0, len(sequence), n_mutants)
    start = time.perf_counter()
    for position in positions:
        base = "ACGT"[("ACGT".index(sequence[position]) + 1) % 4]
        model.predict_proba([sequence[:position] + base + sequence[position + 1:]])
    return (time.perf_counter() - start) / n_mutants


def batched(model, sequences):
    """Mutants per second of in_silico_mutagenesis (best of 3)."""
    n_mutants = 3 * sum(map(len, sequences))
    best = min(_seconds(lambda: in_silico_mutagenesis(model, sequences)) for _ in range(3))
    return n_mutants / best


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main():
    from estimators import SequenceClassifier

    X, y = make_motif_classification(2000, length=100, random_state=0)
    models = {
        "6-mer counts + LogisticRegression": make_pipeline(
            KmerTokenizer(k=6, output="counts"), LogisticRegression(max_iter=2000, C=0.5)),
        "char transformer (d_model 32, 1 layer)": make_pipeline(CharTokenizer(), SequenceClassifier(
            module__d_model=32, module__n_layers=1, module__n_heads=2, lr=3e-3, max_epochs=12, random_state=0)),
    }
    lines = [
        "In-silico mutagenesis of 20 sequences of 100 nt (6,000 mutants), against a loop",
        "that scores one mutant per `predict_proba` call (timed on 300 mutants).",
        "",
        "| model | batched, mutants/s | one at a time, mutants/s | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, model in models.items():
        model.fit(X[:1500], y[:1500])
        fast = batched(model, X[1500:1520])
        slow = 1 / per_mutant_loop(model, X[1500], 300)
        lines.append(f"| {name} | {fast:,.0f} | {slow:,.0f} | {fast / slow:.0f}x |")
        print(lines[-1], flush=True)

    kmer = models["6-mer counts + LogisticRegression"]
    long = "".join(np.random.default_rng(0).choice(list("ACGT"), 10_000))
    tracemalloc.start()
    seconds = _seconds(lambda: in_silico_mutagenesis(kmer, [long]))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    lines += [
        "",
        f"One 10 kb sequence (30,000 mutants) through the k-mer model: {seconds:.1f} s, peak "
        f"traced memory {peak / 2**20:.0f} MiB (batches hold at most ~2 million bases: 209 "
        f"mutants of 10 kb; the effects are 10,000 x 4 floats).",
    ]
    write_section("inspection", "\n".join(lines))


if __name__ == "__main__":
    main()
