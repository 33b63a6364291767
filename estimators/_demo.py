"""The main demo: MxDNA learns a tokenization, then classifies (``dnatok demo``)."""

import time

from sklearn.metrics import accuracy_score, matthews_corrcoef
from sklearn.pipeline import make_pipeline

from dnatok import MxDNATokenizer
from dnatok._demo import kmer_baseline, split_demo_data
from dnatok.nn import MxDNAMaskedLM
from dnatok.training import MaskedLMPretrainer

from ._mxdna import MxDNAClassifier

__all__ = ["run_mxdna_demo"]


def run_mxdna_demo(paths=(), *, pretrain_epochs=2, finetune_epochs=20, test_size=0.25, random_state=0, device="cpu"):
    """Pretrain MxDNATokenizer, fine-tune MxDNAClassifier, describe both.

    Returns
    -------
    report : str
    """
    X_train, X_test, y_train, y_test, description = split_demo_data(paths, test_size, random_state)
    start = time.perf_counter()
    model = make_pipeline(
        MxDNATokenizer(
            pretrainer=MaskedLMPretrainer(
                module=MxDNAMaskedLM, module__d_model=64, module__n_heads=4, module__n_token_layers=2,
                max_epochs=pretrain_epochs, device=device, random_state=random_state,
            ),
            handle_unknown="unk",
        ),
        MxDNAClassifier(max_epochs=finetune_epochs, lr=2e-3, device=device, random_state=random_state),
    )
    model.fit(X_train, y_train)
    predicted = model.predict(X_test)
    tokenizer = model[0]
    stats = tokenizer.tokenization_stats(X_test)
    lines = [
        f"data: {description}",
        f"train / test: {len(X_train)} / {len(X_test)} sequences",
        f"model: MxDNATokenizer (masked-LM pretraining, {pretrain_epochs} epochs) + "
        f"MxDNAClassifier (fine-tuning, {finetune_epochs} epochs), {time.perf_counter() - start:.0f} s",
        f"test accuracy: {accuracy_score(y_test, predicted):.3f}",
        f"test Matthews correlation: {matthews_corrcoef(y_test, predicted):.3f}",
        f"compression: {stats['nucleotides_per_token']:.2f} nucleotides per token "
        f"(unit lengths 1-{len(stats['unit_length_distribution'])}: "
        + " ".join(f"{share:.0%}" for share in stats["unit_length_distribution"]) + ")",
        "learned tokenizations:",
    ]
    lines += [f"  {' '.join(tokenizer.tokenize(sequence[:40]))}" for sequence in X_test[:3]]
    lines += ["", "for comparison, k-mer counts + logistic regression:"]
    lines += ["  " + line for line in kmer_baseline(X_train, X_test, y_train, y_test)]
    return "\n".join(lines)
