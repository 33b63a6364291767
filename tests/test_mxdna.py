"""MxDNATokenizer and MxDNAClassifier: the learned tokenization in scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from dnatok import BPETokenizer, CharTokenizer, MxDNATokenizer
from dnatok.datasets import make_motif_classification
from estimators import MxDNAClassifier, MxDNARegressor

SMALL = dict(d_model=16, n_heads=2, n_nucleotide_layers=1, n_token_layers=1, n_experts=4, batch_size=16, random_state=0)
X, Y = make_motif_classification(96, length=40, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    return MxDNATokenizer(max_epochs=1, **SMALL).fit(X)


def test_units_tile_each_sequence_and_are_deterministic(fitted):
    for sequence in X[:10] + ["ACGTN", "a", ""]:
        units = fitted.tokenize(sequence)
        assert "".join(units) == sequence.upper().replace("N", "N")
        assert all(1 <= len(u) <= 4 for u in units)
        assert fitted.tokenize(sequence) == units  # no jitter at inference


def test_transform_hands_over_nucleotide_ids_and_the_network(fitted):
    Xt = fitted.transform(X[:5])
    np.testing.assert_array_equal(Xt["input_ids"], CharTokenizer().transform(X[:5])["input_ids"])
    assert Xt.tokenizer is fitted and Xt.vocab_size == 9
    pretrained = fitted.get_pretrained()
    assert pretrained.architecture == "mxdna"
    assert set(pretrained.state_dict) == set(fitted.model_.encoder.state_dict())


def test_counts_of_learned_units(fitted):
    counter = MxDNATokenizer(output="counts", max_epochs=1, **SMALL).fit(X)
    counts = counter.transform(X[:4])
    names = counter.get_feature_names_out()
    assert counts.shape == (4, len(names)) and names[0] == "[UNK]"
    assert counts.sum(axis=1).A1.tolist() == [len(counter.tokenize(s)) for s in X[:4]]


def test_statistics_and_the_figure(fitted, tmp_path):
    stats = fitted.tokenization_stats(X)
    assert stats["unit_length_distribution"].shape == (4,)
    assert stats["unit_length_distribution"].sum() == pytest.approx(1.0)
    assert stats["expert_usage"].sum() == pytest.approx(1.0)
    assert stats["n_nucleotides"] == sum(map(len, X))
    assert stats["nucleotides_per_token"] == pytest.approx(stats["n_nucleotides"] / stats["n_units"])
    import matplotlib

    matplotlib.use("Agg")
    ax = fitted.plot_unit_lengths(X, bpe=BPETokenizer(vocab_size=40).fit(X))
    ax.figure.savefig(tmp_path / "lengths.png")
    assert (tmp_path / "lengths.png").stat().st_size > 1000
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "MxDNA units"


def test_save_and_load_round_trip(fitted, tmp_path):
    fitted.save_pretrained(tmp_path / "mxdna")
    loaded = MxDNATokenizer(pretrained=tmp_path / "mxdna", **{**SMALL, "d_model": 999}).fit(X[:2])
    assert loaded.history_ == []
    assert loaded.tokenize(X[3]) == fitted.tokenize(X[3])
    for name, value in fitted.model_.state_dict().items():
        assert torch.equal(loaded.model_.state_dict()[name], value.cpu()), name
    with pytest.raises(FileNotFoundError, match="is not a saved pretrained model"):
        MxDNATokenizer(pretrained=tmp_path).fit(X[:2])


def test_pipeline_fine_tunes_a_copy_of_the_tokenizer_network(fitted):
    before = {k: v.clone() for k, v in fitted.model_.state_dict().items()}
    classifier = MxDNAClassifier(max_epochs=0, random_state=0)
    classifier.fit(fitted.transform(X), Y)
    # starts exactly from the tokenizer's encoder ...
    for name, value in classifier.module_.encoder.state_dict().items():
        assert torch.equal(value, fitted.model_.encoder.state_dict()[name]), name
    classifier.set_params(max_epochs=1).fit(fitted.transform(X), Y)
    # ... trains all of it, tokenization module included ...
    moved = [n for n, v in classifier.module_.encoder.state_dict().items() if not torch.equal(v, before["encoder." + n])]
    assert any(n.startswith("tokenization.router") for n in moved)
    assert any(n.startswith("tokenization.experts") for n in moved)
    # ... and leaves the tokenizer's own weights as they were
    for name, value in fitted.model_.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_unfitted_tokenizer_in_a_pipeline_and_grid_search(tmp_path):
    pipeline = Pipeline(
        [("mxdnatokenizer", MxDNATokenizer(max_epochs=1, **SMALL)), ("mxdnaclassifier", MxDNAClassifier(max_epochs=1, batch_size=16, random_state=0))],
        memory=str(tmp_path),
    )
    search = GridSearchCV(
        pipeline, {"mxdnatokenizer__n_experts": [2, 4], "mxdnaclassifier__lr": [1e-3, 3e-3]}, cv=2
    )
    search.fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    assert search.predict(X[:3]).shape == (3,)
    best = search.best_estimator_
    assert best[-1].module_.encoder.tokenization.n_experts == search.best_params_["mxdnatokenizer__n_experts"]


def test_regressor_and_guards(fitted):
    regressor = MxDNARegressor(max_epochs=1, random_state=0).fit(fitted.transform(X), np.linspace(0, 1, len(X)))
    assert regressor.predict(fitted.transform(X[:3])).shape == (3,)
    with pytest.raises(ValueError, match=r"starts from the network of the MxDNATokenizer before it, but got CharTokenizer output"):
        MxDNAClassifier(max_epochs=0).fit(CharTokenizer().transform(X), Y)
    scratch = MxDNAClassifier(pretrained=None, max_epochs=1, module__d_model=16, module__n_heads=2,
                              module__n_token_layers=1, module__n_experts=3, random_state=0)
    assert scratch.fit(CharTokenizer().transform(X), Y).predict(CharTokenizer().transform(X[:2])).shape == (2,)


def test_masked_lm_loss_falls_on_real_genome_windows(shared_data):
    from dnatok import genome_windows, read_fasta

    records = read_fasta(shared_data / "genomes" / "yeast_S288C_chrI_chrII.fa.gz")
    windows = genome_windows(records, length=96, stride=2000, max_n_fraction=0.0, uppercase=True)[:320]
    tokenizer = MxDNATokenizer(max_epochs=6, lr=3e-3, batch_size=32, d_model=32, n_heads=2,
                               n_token_layers=1, n_experts=4, random_state=0).fit(windows)
    losses = [epoch["mlm_loss"] for epoch in tokenizer.history_]
    assert losses[-1] < losses[0] - 0.02  # from ln(9) towards the base entropy (~1.37)
    assert losses[-1] < 1.45
