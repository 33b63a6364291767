"""MxDNATokenizer and MxDNAClassifier: the learned tokenization in scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, MxDNATokenizer
from dnatok.datasets import make_motif_classification
from dnatok.nn import MxDNAMaskedLM
from estimators import MaskedLMPretrainer, MxDNAClassifier, MxDNARegressor, SequenceClassifier

SMALL = dict(module__d_model=16, module__n_heads=2, module__n_nucleotide_layers=1, module__n_token_layers=1,
             module__n_experts=4, batch_size=16, random_state=0)
X, Y = make_motif_classification(96, length=40, random_state=0)


def small_tokenizer(max_epochs=1, tokenizer=None, **pretraining):
    """A tiny MxDNATokenizer: ``pretraining`` goes to its pretrainer, ``tokenizer`` (a dict) to itself."""
    pretrainer = MaskedLMPretrainer(MxDNAMaskedLM, max_epochs=max_epochs, **{**SMALL, **pretraining})
    return MxDNATokenizer(pretrainer=pretrainer, **(tokenizer or {}))


@pytest.fixture(scope="module")
def fitted():
    return small_tokenizer().fit(X)


def test_units_tile_each_sequence_and_are_deterministic(fitted):
    for sequence in X[:10] + ["ACGTN", "a", ""]:
        units = fitted.tokenize(sequence)
        assert "".join(units) == sequence.upper().replace("N", "N")
        assert all(1 <= len(u) <= 4 for u in units)
        assert fitted.tokenize(sequence) == units  # no jitter at inference


@pytest.mark.slow
def test_units_do_not_depend_on_the_batch():
    """A sequence's units alone equal its units beside 400 others (padding never enters)."""
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), rng.integers(20, 120))) for _ in range(400)]
    sequences.append("".join(rng.choice(list("ACGT"), 400)))
    tokenizer = MxDNATokenizer(output="counts").set_params(pretrainer__max_epochs=0, pretrainer__random_state=0)
    tokenizer.fit(sequences)
    together = tokenizer.transform(sequences)
    for i, sequence in enumerate(sequences):
        assert (together[i] != tokenizer.transform([sequence])).nnz == 0, i


def test_bad_characters_in_units_are_named_by_their_index(fitted):
    with pytest.raises(ValueError, match=r"^Characters outside ACGTN in 1 sequence: sequence 2 has 'R'"):
        fitted.tokenization_stats(["ACGTACGTAC", "ACG", "ACGTRCGTAC"])


def test_units_and_counts_cover_whole_sequences_whatever_max_length():
    """max_length and truncation shape the ids handed to a model, not the units (as k-mer counts)."""
    X = make_motif_classification(20, length=70, random_state=0)[0]
    for truncation in (True, False):
        tokenizer = small_tokenizer(0, tokenizer=dict(max_length=20, truncation=truncation)).fit(["ACGT"])
        units = tokenizer.tokenize(X[0])
        assert "".join(units) == X[0]
        counts = tokenizer.set_params(output="counts").fit(["ACGT"]).transform(X[:1])
        assert counts.sum() == len(units)


def test_transform_hands_over_nucleotide_ids_and_the_network(fitted):
    Xt = fitted.transform(X[:5])
    np.testing.assert_array_equal(Xt["input_ids"], CharTokenizer().transform(X[:5])["input_ids"])
    assert Xt.tokenizer is fitted and Xt.vocab_size == 9
    pretrained = fitted.get_pretrained()
    assert pretrained.family == "mxdna"
    assert set(pretrained.state_dict) == set(fitted.model_.encoder.state_dict())


def test_counts_of_learned_units(fitted):
    counter = small_tokenizer(tokenizer=dict(output="counts")).fit(X)
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
    loaded = small_tokenizer(module__d_model=999, tokenizer=dict(pretrained=tmp_path / "mxdna")).fit(X[:2])
    assert loaded.history_ == []
    assert loaded.tokenize(X[3]) == fitted.tokenize(X[3])
    for name, value in fitted.model_.state_dict().items():
        assert torch.equal(loaded.model_.state_dict()[name], value.cpu()), name
    with pytest.raises(FileNotFoundError, match="is not a pretrained model: it has no config.json"):
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


def test_unfitted_tokenizer_in_a_pipeline_and_grid_search(tmp_path, monkeypatch):
    pretraining_runs = []
    original_fit = MaskedLMPretrainer.fit
    monkeypatch.setattr(MaskedLMPretrainer, "fit", lambda net, *a, **k: pretraining_runs.append(1) or original_fit(net, *a, **k))
    pipeline = Pipeline(
        [("mxdnatokenizer", small_tokenizer()), ("mxdnaclassifier", MxDNAClassifier(max_epochs=1, batch_size=16, random_state=0))],
        memory=str(tmp_path),
    )
    search = GridSearchCV(
        pipeline, {"mxdnatokenizer__pretrainer__module__n_experts": [2, 4], "mxdnaclassifier__lr": [1e-3, 3e-3]}, cv=2
    )
    search.fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    # Pipeline(memory=...): 2 tokenizer settings x 2 folds + the refit, not one per classifier lr
    assert len(pretraining_runs) == 5
    assert search.predict(X[:3]).shape == (3,)
    best = search.best_estimator_
    assert best[-1].module_.encoder.tokenization.n_experts == search.best_params_["mxdnatokenizer__pretrainer__module__n_experts"]


def test_a_grid_over_the_default_pretrainers_controls():
    """pretrainer=None still exposes every pretraining control to set_params and grids."""
    tokenizer = MxDNATokenizer()
    assert tokenizer.get_params()["pretrainer__max_epochs"] == 10
    assert tokenizer.get_params()["pretrainer__module__n_token_layers"] == 2
    model = make_pipeline(tokenizer, MxDNAClassifier(max_epochs=1, random_state=0))
    model.set_params(mxdnatokenizer__pretrainer__module__d_model=16, mxdnatokenizer__pretrainer__module__n_heads=2)
    assert MxDNATokenizer().pretrainer is None and model[0].pretrainer.module__d_model == 16
    # pretrainer=None given beside nested values (as get_params gives them) is the default made explicit
    reset = MxDNATokenizer().set_params(pretrainer=None, pretrainer__max_epochs=3)
    assert reset.pretrainer.max_epochs == 3 and reset.pretrainer.module__n_token_layers == 2
    search = GridSearchCV(model, {"mxdnatokenizer__pretrainer__max_epochs": [0, 1],
                                  "mxdnaclassifier__lr": [1e-3, 3e-3]}, cv=2).fit(X, Y)
    epochs = [len(search.best_estimator_[0].history_)]
    assert epochs == [search.best_params_["mxdnatokenizer__pretrainer__max_epochs"]]


def test_max_time_and_random_state_reach_the_pretrainer():
    """MxDNATokenizer(max_time=..., random_state=...) sets the pretraining's budget and seed."""
    first = small_tokenizer(0, tokenizer=dict(random_state=3), random_state=None).fit(X[:8])
    again = small_tokenizer(0, tokenizer=dict(random_state=3), random_state=None).fit(X[:8])
    other = small_tokenizer(0, tokenizer=dict(random_state=4), random_state=None).fit(X[:8])
    weights = [next(t.model_.parameters()).detach() for t in (first, again, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])
    budgeted = small_tokenizer(1000, tokenizer=dict(max_time=0.5)).fit(X)
    assert 1 <= len(budgeted.history_) < 1000
    assert budgeted.pretrainer.max_time is None  # the given pretrainer is left as it was
    with pytest.raises(ValueError, match=r"^MxDNATokenizer\(random_state=1\) disagrees with its pretrainer's "
                                         r"random_state=0; set it in one place"):
        small_tokenizer(0, tokenizer=dict(random_state=1)).fit(X[:4])
    with pytest.raises(ValueError, match=r"'max_time' parameter of MxDNATokenizer must be"):
        MxDNATokenizer(max_time=0).fit(X[:4])


def test_the_pretrainer_must_train_an_mxdna_masked_lm():
    with pytest.raises(ValueError, match=r"^MxDNATokenizer's pretrainer trains MaskedLMModel, not an MxDNA masked LM"):
        MxDNATokenizer(pretrainer=MaskedLMPretrainer(max_epochs=0)).fit(X[:4])
    with pytest.raises(ValueError, match=r"'pretrainer' parameter of MxDNATokenizer must be"):
        MxDNATokenizer(pretrainer=SequenceClassifier()).fit(X[:4])


def test_regressor_and_guards(fitted):
    regressor = MxDNARegressor(max_epochs=1, random_state=0).fit(fitted.transform(X), np.linspace(0, 1, len(X)))
    assert regressor.predict(fitted.transform(X[:3])).shape == (3,)
    with pytest.raises(ValueError, match=r"^MxDNAClassifier\(pretrained='tokenizer'\) starts from the network of the "
                                         r"tokenizer before it, but CharTokenizer has none"):
        MxDNAClassifier(max_epochs=0).fit(CharTokenizer().transform(X), Y)
    scratch = MxDNAClassifier(pretrained=None, max_epochs=1, module__d_model=16, module__n_heads=2,
                              module__n_token_layers=1, module__n_experts=3, random_state=0)
    assert scratch.fit(CharTokenizer().transform(X), Y).predict(CharTokenizer().transform(X[:2])).shape == (2,)


def test_masked_lm_loss_falls_on_real_genome_windows(shared_data):
    from dnatok import genome_windows, read_fasta

    records = read_fasta(shared_data / "genomes" / "yeast_S288C_chrI_chrII.fa.gz")
    windows = genome_windows(records, length=96, stride=2000, max_n_fraction=0.0, uppercase=True)[:320]
    tokenizer = small_tokenizer(6, lr=3e-3, batch_size=32, module__d_model=32).fit(windows)
    history = tokenizer.history_
    # the masked-LM part of the loss: the total minus the weighted balancing loss
    losses = [e["train_loss"] - tokenizer.pretrainer.aux_loss_weight * e["train_aux_loss"] for e in history]
    assert losses[-1] < losses[0] - 0.02  # from ln(9) towards the base entropy (~1.37)
    assert losses[-1] < 1.45


# -- the tokenizer-to-model hand-off (issue 7's defects, each failed before) --------------


def test_widths_the_tokenizer_produces_are_widths_the_model_accepts():
    long_X, long_y = make_motif_classification(8, length=1100, random_state=0)
    model = make_pipeline(small_tokenizer(batch_size=4),
                          MxDNAClassifier(max_epochs=1, batch_size=4, random_state=0))
    assert model.fit(long_X, long_y).predict(long_X[:2]).shape == (2,)
    assert model[-1].module_.encoder.max_length is None  # no limit: rotary positions need no table


def test_special_tokens_cannot_be_dropped_for_mxdna():
    with pytest.raises(ValueError, match=r"^MxDNATokenizer\(add_special_tokens=False\) cannot hand ids to MxDNA: its "
                                         r"network reads \[CLS\] x1 \.\. xL \[SEP\]"):
        small_tokenizer(tokenizer=dict(add_special_tokens=False)).fit(X)
    with pytest.raises(ValueError, match=r"MxDNAClassifier reads \[CLS\] x1 \.\. xL \[SEP\], but the CharTokenizer "
                                         r"output has no \[CLS\] first; tokenize with add_special_tokens=True\."):
        MxDNAClassifier(pretrained=None, max_epochs=0).fit(CharTokenizer(add_special_tokens=False).transform(X), Y)


def test_special_token_ids_come_from_the_tokenizer_output(fitted):
    Xt = fitted.transform(X)
    classifier = MxDNAClassifier(max_epochs=0, random_state=0).fit(Xt, Y)
    encoder = classifier.module_.encoder
    assert (encoder.cls_token_id, encoder.sep_token_id) == (Xt.cls_token_id, Xt.sep_token_id)
    assert encoder.embedding.padding_idx == Xt.pad_token_id
    with pytest.raises(ValueError, match=r"module__vocab_size come\(s\) from the tokenizer's output"):
        MxDNAClassifier(pretrained=None, module__vocab_size=12, max_epochs=0).fit(CharTokenizer().transform(X), Y)


@pytest.mark.parametrize("tokenizer", [BPETokenizer(vocab_size=40), KmerTokenizer(k=3)], ids=["bpe", "kmer"])
def test_non_nucleotide_tokens_are_refused_by_mxdna(tokenizer):
    Xt = tokenizer.fit(X).transform(X)
    name = type(tokenizer).__name__
    for pretrained in (None, "tokenizer"):
        with pytest.raises(ValueError, match=rf"^MxDNAClassifier reads single nucleotides, but got {name} output\. "
                                             rf"Put an MxDNATokenizer first"):
            MxDNAClassifier(pretrained=pretrained, max_epochs=0).fit(Xt, Y)


@pytest.mark.parametrize("estimator", [SequenceClassifier, MaskedLMPretrainer])
def test_mxdna_tokens_are_refused_by_other_models(fitted, estimator):
    with pytest.raises(ValueError, match=rf"^{estimator.__name__} got MxDNATokenizer output, but that tokenizer's "
                                         rf"learned units live in its 'mxdna' network"):
        estimator(max_epochs=0).fit(fitted.transform(X), Y)


def test_pretrained_tokenizer_needs_a_tokenizer_with_a_network():
    with pytest.raises(ValueError, match=r"^SequenceClassifier\(pretrained='tokenizer'\) starts from the network of the "
                                         r"tokenizer before it, but KmerTokenizer has none"):
        SequenceClassifier(pretrained="tokenizer", max_epochs=0).fit(KmerTokenizer(k=3).transform(X), Y)


def test_a_fitted_pipeline_pickles_each_weight_once():
    import pickle

    model = make_pipeline(small_tokenizer(), MxDNAClassifier(max_epochs=1, random_state=0))
    model.fit(X, Y)
    size = lambda obj: len(pickle.dumps(obj))  # noqa: E731
    copy_of_the_encoder = size(model[-1].module_.encoder.state_dict())
    tokenizer, classifier = model
    # each part holds its network once (the classifier's optimizer state besides), so
    # nothing in either comes near a second copy of the encoder
    assert size(tokenizer) < size(tokenizer.model_) + copy_of_the_encoder / 2
    assert size(classifier) < size(classifier.module_) + size(classifier.optimizer_.state_dict()) + copy_of_the_encoder / 2
    assert size(model) < size(tokenizer) + size(classifier) + copy_of_the_encoder / 2
    assert not any(isinstance(v, MxDNATokenizer) for v in vars(model[-1]).values())


def test_tokenizer_pretraining_has_the_training_controls(tmp_path):
    once = small_tokenizer(2, checkpoint_dir=tmp_path / "ckpt").fit(X)
    assert len(once.history_) == 2 and (tmp_path / "ckpt" / "checkpoint.pt").is_file()
    # a second fit with the same folder resumes: no epoch is left to run
    resumed = small_tokenizer(2, checkpoint_dir=tmp_path / "ckpt").fit(X)
    assert len(resumed.history_) == 2
    for name, value in once.model_.state_dict().items():
        assert torch.equal(resumed.model_.state_dict()[name], value), name
    stopped = small_tokenizer(50, early_stopping=1).fit(X)
    assert len(stopped.history_) < 50 and "valid_loss" in stopped.history_[-1]
    again = small_tokenizer().fit(X)
    assert again.history_[:, "train_loss"] == small_tokenizer().fit(X).history_[:, "train_loss"]
    # controls the tokenizer never restated reach the pretraining too
    clipped = small_tokenizer(weight_decay=0.0, gradient_clip_value=None, callbacks=[]).fit(X)
    assert clipped.history_[:, "train_loss"] != again.history_[:, "train_loss"]


def test_masked_lm_pretrainer_with_the_mxdna_module_starts_a_classifier():
    tokens = CharTokenizer().transform(X)
    pretrainer = MaskedLMPretrainer(MxDNAMaskedLM, module__d_model=16, module__n_heads=2, module__n_token_layers=1,
                                    module__n_experts=3, max_epochs=1, random_state=0).fit(tokens)
    assert pretrainer.get_pretrained().family == "mxdna"
    classifier = MxDNAClassifier(pretrained=pretrainer, max_epochs=0, random_state=0).fit(tokens, Y)
    for name, value in classifier.module_.encoder.state_dict().items():
        assert torch.equal(value, pretrainer.module_.encoder.state_dict()[name]), name


def test_folders_saved_before_the_convolution_stem_still_load(fitted, tmp_path):
    import json

    old = MxDNAMaskedLM(d_model=16, n_heads=2, n_token_layers=1, n_experts=4, conv_kernel_size=0)
    tokenizer = MxDNATokenizer(pretrained=None)
    fitted.save_pretrained(tmp_path / "old")
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["encoder"]["conv_kernel_size"]  # as dnatok wrote it before the stem
    del config["encoder"]["expert_gain"]  # and before the expert gain
    del config["files"]  # and before weight files were hashed
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    torch.save(old.encoder.state_dict(), tmp_path / "old" / "encoder.pt")
    torch.save({k: v for k, v in old.state_dict().items() if not k.startswith("encoder.")}, tmp_path / "old" / "head.pt")
    loaded = tokenizer.set_params(pretrained=tmp_path / "old").fit(X[:2])
    assert loaded.model_.encoder.stem is None
    assert loaded.model_.encoder.tokenization.expert_gain == 1.0  # as the old model was trained
    assert "".join(loaded.tokenize(X[0])) == X[0]


def test_expert_gain_reaches_the_network_and_is_validated():
    paper = small_tokenizer(0).fit(X[:4])
    assert paper.model_.encoder.tokenization.expert_gain == 1.0  # the paper's mixture by default
    full = small_tokenizer(0, module__expert_gain=4.0).fit(X[:4])
    assert full.model_.encoder.tokenization.expert_gain == 4.0
    classifier = MxDNAClassifier(max_epochs=1, random_state=0).fit(full.transform(X[:16]), Y[:16])
    assert classifier.module_.encoder.tokenization.expert_gain == 4.0  # from the tokenizer, not a default
    with pytest.raises(ValueError, match=r"^expert_gain must be a number above 0"):
        small_tokenizer(0, module__expert_gain=0.0).fit(X[:4])


@pytest.mark.parametrize("sizes, message", [
    (dict(module__n_experts=0), r"MxDNAEncoder's n_experts must be an int of at least 1, got 0\."),
    (dict(module__n_heads=0), r"MxDNAEncoder's n_heads must be an int of at least 1, got 0\."),
    (dict(module__n_token_layers=1.5), r"MxDNAEncoder's n_token_layers must be an int of at least 0, got 1\.5\."),
    (dict(module__d_model=18, module__n_heads=4), r"MxDNAEncoder's d_model \(18\) must be a multiple of n_heads \(4\)\."),
])
def test_network_sizes_are_checked_by_name(sizes, message):
    with pytest.raises(ValueError, match=rf"^{message}$"):
        small_tokenizer(0, **sizes).fit(X[:4])
