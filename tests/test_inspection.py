"""dnatok.inspection: in-silico mutagenesis and motif discovery on real fitted pipelines."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

from dnatok import CharTokenizer, KmerTokenizer
from dnatok.datasets import make_motif_classification
from dnatok.inspection import find_motifs, in_silico_mutagenesis


@pytest.fixture(scope="module")
def task():
    """Two planted 8-mers (class 0 and 1), 100 nt, split 1500 / 500."""
    X, y, motifs = make_motif_classification(2000, length=100, random_state=0, return_motifs=True)
    return X[:1500], y[:1500], X[1500:], y[1500:], motifs


@pytest.fixture(scope="module")
def kmer_model(task):
    X, y = task[0], task[1]
    return make_pipeline(KmerTokenizer(k=6, output="counts"), LogisticRegression(max_iter=2000, C=0.5)).fit(X, y)


def _occurrence(sequence, motif):
    """Start of the motif's best copy (at most one base mutated), or None."""
    windows = np.lib.stride_tricks.sliding_window_view(np.frombuffer(sequence.encode(), np.uint8), len(motif))
    mismatches = (windows != np.frombuffer(motif.encode(), np.uint8)).sum(axis=1)
    return int(mismatches.argmin()) if mismatches.min() <= 1 else None


# -- what the effects are ---------------------------------------------------------------


def test_effects_equal_scoring_each_mutant_alone(kmer_model, task):
    X = [task[2][0], task[2][1][:60] + "NN" + task[2][1][62:90]]  # two lengths, two N
    result = in_silico_mutagenesis(kmer_model, X, batch_size=7)
    assert result.effects.shape == (2, 100, 4) and result.importance.shape == (2, 100)
    reference = kmer_model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(result.reference, reference)
    # zero at the reference base, NaN at N and past the end
    codes = np.searchsorted(np.frombuffer(b"ACGT", np.uint8), np.frombuffer(X[0].encode(), np.uint8))
    assert (result.effects[0, np.arange(100), codes] == 0).all()
    assert np.isnan(result.effects[1, 60:62]).all() and np.isnan(result.effects[1, 90:]).all()
    assert np.isnan(result.importance[1, 90:]).all() and not np.isnan(result.importance[1, :60]).any()
    # each effect is the change of the score of that one mutant
    rng = np.random.default_rng(0)
    for row, position, base in zip(rng.integers(0, 2, 20), rng.integers(0, 60, 20), rng.integers(0, 4, 20)):
        sequence = X[row]
        mutant = sequence[:position] + "ACGT"[base] + sequence[position + 1:]
        expected = kmer_model.predict_proba([mutant])[0, 1] - reference[row]
        assert result.effects[row, position, base] == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(result.importance[0], -np.nansum(result.effects[0], axis=1) / 3)
    # the batch size changes nothing
    np.testing.assert_array_equal(in_silico_mutagenesis(kmer_model, X).effects, result.effects)


def test_positions_targets_and_responses(kmer_model, task):
    X = task[2][:3]
    some = in_silico_mutagenesis(kmer_model, X, positions=[5, 50, 99, 150])
    assert np.isfinite(some.effects[:, [5, 50, 99]]).all()
    assert np.isnan(np.delete(some.effects, [5, 50, 99], axis=1)).all()
    full = in_silico_mutagenesis(kmer_model, X)
    np.testing.assert_array_equal(some.effects[:, 50], full.effects[:, 50])
    # class 0's probability moves the other way
    zero = in_silico_mutagenesis(kmer_model, X, target=0)
    np.testing.assert_allclose(zero.effects, -full.effects, atol=1e-12)
    # each sequence on its own predicted class
    predicted = in_silico_mutagenesis(kmer_model, X, target="predicted")
    for row, label in enumerate(kmer_model.predict(X)):
        np.testing.assert_allclose(predicted.effects[row], (full if label == 1 else zero).effects[row], atol=1e-12)
    # decision values: the same ranking as probabilities, in log-odds
    decision = in_silico_mutagenesis(kmer_model, X, response="decision_function")
    assert decision.response == "decision_function"
    assert (np.sign(decision.effects) == np.sign(full.effects))[np.abs(full.effects) > 1e-9].all()
    # a regressor's prediction
    regressor = make_pipeline(KmerTokenizer(k=2, output="counts"), LinearRegression()).fit(task[0], task[1])
    assert in_silico_mutagenesis(regressor, X).response == "predict"


def test_mutagenesis_errors(kmer_model, task):
    X = task[2][:2]
    with pytest.raises(TypeError, match="got a single string"):
        in_silico_mutagenesis(kmer_model, X[0])
    with pytest.raises(NotFittedError):
        in_silico_mutagenesis(make_pipeline(KmerTokenizer(output="counts"), LogisticRegression()), X)
    with pytest.raises(ValueError, match="response must be one of"):
        in_silico_mutagenesis(kmer_model, X, response="proba")
    with pytest.raises(ValueError, match=r"target=7 is not one of the classes \[0, 1\]"):
        in_silico_mutagenesis(kmer_model, X, target=7)
    with pytest.raises(ValueError, match=r"is a classifier: its predict returns class labels"):
        in_silico_mutagenesis(kmer_model, X, response="predict")
    with pytest.raises(ValueError, match="positions must be a 1-D array of non-negative ints"):
        in_silico_mutagenesis(kmer_model, X, positions=[-1])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        in_silico_mutagenesis(kmer_model, X, batch_size=0)
    with pytest.raises(ValueError, match=r"sequence 1 .*'X'"):
        in_silico_mutagenesis(kmer_model, [X[0], "ACGTX"])
    X3, y3 = make_motif_classification(300, length=40, n_classes=3, random_state=0)
    three = make_pipeline(KmerTokenizer(k=3, output="counts"), LogisticRegression(max_iter=1000)).fit(X3, y3)
    with pytest.raises(ValueError, match=r"has 3 classes; say which one to score with target="):
        in_silico_mutagenesis(three, X3[:2])
    assert in_silico_mutagenesis(three, X3[:2], target=2).effects.shape == (2, 40, 4)


def test_find_motifs_errors():
    with pytest.raises(ValueError, match=r"importance must have shape \(n_sequences, max_length\) = \(2, 6\)"):
        find_motifs(["ACGTAC", "ACG"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="window must be an int of at least 1"):
        find_motifs(["ACGTAC"], np.zeros((1, 6)), window=0)


# -- what a model learnt: the planted motifs --------------------------------------------


def _check_explains_the_motifs(model, task, n_sequences=120):
    """On correctly classified test sequences: the 20 largest losses of the predicted
    class's score, of all substitutions, lie inside the planted copy (>= 80% on average over those that carry one), and both
    planted motifs are among the top 3 patterns found. Returns the mean share."""
    from dnatok import reverse_complement

    X_test, y_test, motifs = task[2], task[3], task[4]
    predicted = model.predict(X_test)
    correct = [X_test[i] for i in range(len(X_test)) if predicted[i] == y_test[i]][:n_sequences]
    labels = [y_test[i] for i in range(len(X_test)) if predicted[i] == y_test[i]][:n_sequences]
    result = in_silico_mutagenesis(model, correct, target="predicted")
    inside = []
    for row, (sequence, label) in enumerate(zip(correct, labels)):
        start = _occurrence(sequence, motifs[label])
        if start is None:  # 20% carry no motif: their effects are anywhere
            continue
        # the 20 substitutions that lower the predicted class's score most: what breaks
        # the evidence the prediction rests on (the largest gains, for a binary model,
        # are often substitutions that would create the other class's motif elsewhere)
        loss = -np.nan_to_num(result.effects[row], nan=-np.inf)
        loss[result.effects[row] == 0] = -np.inf  # the reference bases are not substitutions
        top = np.argsort(loss.ravel(), kind="stable")[::-1][:20] // 4
        inside.append(np.mean((top >= start) & (top < start + len(motifs[label]))))
    assert len(inside) >= 0.6 * len(correct) and np.mean(inside) >= 0.8, (len(inside), np.mean(inside))

    patterns = find_motifs(correct, result.importance)
    found = {p.consensus for p in patterns[:3]}
    for motif in motifs:
        assert motif in found or reverse_complement(motif) in found, (motifs, [p.consensus for p in patterns])
    return np.mean(inside)


def test_kmer_logistic_regression_explained(kmer_model, task):
    _check_explains_the_motifs(kmer_model, task)


@pytest.mark.slow
def test_char_transformer_explained(task):
    from estimators import SequenceClassifier

    model = make_pipeline(CharTokenizer(), SequenceClassifier(
        module__d_model=32, module__n_layers=1, module__n_heads=2, lr=3e-3, max_epochs=12, random_state=0,
    )).fit(task[0], task[1])
    _check_explains_the_motifs(model, task)


@pytest.mark.slow
def test_mxdna_pipeline_explained(task):
    from dnatok import MxDNATokenizer
    from dnatok.nn import MxDNAMaskedLM
    from dnatok.training import MaskedLMPretrainer
    from estimators import MxDNAClassifier

    pretrainer = MaskedLMPretrainer(module=MxDNAMaskedLM, module__d_model=32, module__n_heads=2,
                                    module__n_token_layers=1, max_epochs=1, random_state=0)
    model = make_pipeline(MxDNATokenizer(pretrainer=pretrainer),
                          MxDNAClassifier(max_epochs=8, lr=3e-3, random_state=0)).fit(task[0], task[1])
    _check_explains_the_motifs(model, task)
