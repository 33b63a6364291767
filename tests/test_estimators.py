"""The neural estimators in use: pipelines, searches, pretraining, training controls."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from skorch.callbacks import Callback

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, genome_windows, read_fasta
from dnatok.datasets import make_motif_classification
from dnatok.training import flushing_subnormals
from dnatok.training._masking import mask_tokens
from estimators import MaskedLMPretrainer, SequenceClassifier, SequenceRegressor

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(module__d_model=16, module__n_heads=2, module__n_layers=1, batch_size=16, random_state=0)
X, Y = make_motif_classification(300, length=50, random_state=0)


@pytest.mark.parametrize("tokenizer", [KmerTokenizer(k=4), CharTokenizer(), BPETokenizer(vocab_size=30)], ids=str)
def test_pipeline_sizes_the_model_from_any_tokenizer(tokenizer):
    model = make_pipeline(tokenizer, SequenceClassifier(max_epochs=1, **TINY)).fit(X, Y)
    tokens = model[0].transform(X[:2])
    assert model[-1].module_.encoder.embedding.num_embeddings == tokens.vocab_size
    assert model[-1].module_.encoder.embedding.padding_idx == tokens.pad_token_id
    assert model.predict_proba(X[:5]).shape == (5, 2)


def test_classifier_learns_planted_motifs():
    model = make_pipeline(
        KmerTokenizer(k=3), SequenceClassifier(module__d_model=32, max_epochs=6, lr=3e-3, random_state=0)
    )
    model.fit(X[:200], Y[:200])
    assert model.score(X[200:], Y[200:]) > 0.7


def test_string_labels_and_multiclass():
    X3, y3 = make_motif_classification(240, length=40, n_classes=3, random_state=1)
    labels = np.array(["enhancer", "promoter", "silencer"])[y3]
    model = make_pipeline(KmerTokenizer(k=3), SequenceClassifier(max_epochs=2, **TINY)).fit(X3, labels)
    assert list(model.classes_) == ["enhancer", "promoter", "silencer"]
    assert set(model.predict(X3[:20])) <= set(labels)
    np.testing.assert_allclose(model.predict_proba(X3[:20]).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "y, message",
    [
        (np.r_[Y[:-1].astype(float), np.nan], r"^y has 1 missing label\(s\) \(None/NaN\), the first at index 299; drop"),
        (np.array([1, "a"] * 150, dtype=object), r"^y mixes label types \(number, str\); use one type for all labels\.$"),
        # a plain list: numpy would have made every label a string
        (["a", 1, 0] * 100, r"^y mixes label types \(number, str\); use one type for all labels\.$"),
        (np.zeros(300), r"^y has a single class \(0\.0\); a classifier needs at least two\.$"),
        (Y[:10], r"^X has 300 sequences but y has 10 targets; give one target per sequence\.$"),
    ],
)
def test_classifier_label_errors(y, message):
    with pytest.raises(ValueError, match=message):
        make_pipeline(KmerTokenizer(k=3), SequenceClassifier(**TINY)).fit(X, y)


def test_regressor_targets():
    gc = np.array([(s.count("G") + s.count("C")) / len(s) for s in X])
    model = make_pipeline(CharTokenizer(), SequenceRegressor(max_epochs=2, **TINY)).fit(X, gc)
    assert model.predict(X[:4]).shape == (4,)
    two = make_pipeline(CharTokenizer(), SequenceRegressor(max_epochs=1, **TINY)).fit(X, np.c_[gc, 1 - gc])
    assert two.predict(X[:4]).shape == (4, 2)
    with pytest.raises(ValueError, match=r"^y has 1 missing or infinite target\(s\), the first at index 3; drop"):
        make_pipeline(CharTokenizer(), SequenceRegressor(**TINY)).fit(X, np.where(np.arange(300) == 3, np.nan, gc))
    with pytest.raises(ValueError, match=r"^y has shape \(300, 0\): no target columns\."):
        make_pipeline(CharTokenizer(), SequenceRegressor(**TINY)).fit(X, np.zeros((300, 0)))
    with pytest.raises(ValueError, match=r"^y holds complex numbers; a regressor fits real targets\."):
        make_pipeline(CharTokenizer(), SequenceRegressor(**TINY)).fit(X, gc + 1j)


def test_early_stopping_on_too_little_data_says_so():
    y = np.r_[np.zeros(11, dtype=int), 1]
    with pytest.raises(ValueError, match=r"^early_stopping=2 holds out validation_fraction=0\.1 of the 12 sequences, "
                                         r"stratified by class, and that split is impossible here \(.*\) Use more "
                                         r"sequences, another validation_fraction, or early_stopping=None\.$"):
        make_pipeline(KmerTokenizer(k=3), SequenceClassifier(**TINY, early_stopping=2)).fit(X[:12], y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_a_device_this_torch_cannot_use_is_refused_before_any_work():
    with pytest.raises(ValueError, match=r"^device='cuda', but this torch cannot use CUDA \(torch\.cuda\.is_available\(\) is False"):
        make_pipeline(KmerTokenizer(k=3), SequenceClassifier(**TINY, device="cuda")).fit(X[:20], Y[:20])
    with pytest.raises(ValueError, match=r"^device='gpu0' is not a torch device"):
        make_pipeline(KmerTokenizer(k=3), SequenceClassifier(**TINY, device="gpu0")).fit(X[:20], Y[:20])


def test_grid_search_over_tokenizer_and_model_parameters():
    search = GridSearchCV(
        make_pipeline(KmerTokenizer(), SequenceClassifier(max_epochs=1, **TINY)),
        {"kmertokenizer__k": [2, 3], "sequenceclassifier__module__d_model": [8, 16]},
        cv=2,
    )
    search.fit(X[:120], Y[:120])
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    assert best[-1].module_.encoder.embedding.num_embeddings == 4 ** best[0].k + 5
    assert best[-1].module_.encoder.embedding.embedding_dim == search.best_params_["sequenceclassifier__module__d_model"]


def test_cross_val_score():
    scores = cross_val_score(make_pipeline(KmerTokenizer(k=3), SequenceClassifier(max_epochs=1, **TINY)), X[:120], Y[:120], cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


class CountingTokenizer(KmerTokenizer):
    """A real KmerTokenizer that counts its fits, to see the Pipeline cache work."""

    fits = 0

    def fit(self, X, y=None):
        type(self).fits += 1
        return super().fit(X, y)


def test_pipeline_memory_caches_the_fitted_tokenizer(tmp_path):
    CountingTokenizer.fits = 0
    for d_model in (8, 16):
        pipeline = Pipeline(
            [("tokenizer", CountingTokenizer(k=3)), ("model", SequenceClassifier(max_epochs=1, **{**TINY, "module__d_model": d_model}))],
            memory=str(tmp_path),
        )
        pipeline.fit(X[:60], Y[:60])
    assert CountingTokenizer.fits == 1  # the second fit took the tokenizer from the cache


def test_fine_tuning_starts_from_the_pretrained_weights(tmp_path):
    pretrainer = make_pipeline(KmerTokenizer(k=3), MaskedLMPretrainer(max_epochs=1, **TINY)).fit(X)[-1]
    tokens = KmerTokenizer(k=3).transform(X)
    # max_epochs=0: initialised, not trained, so the encoder must equal the pretrained one
    from_object = SequenceClassifier(pretrained=pretrainer, max_epochs=0, random_state=1).fit(tokens, Y)
    pretrainer.save_pretrained(tmp_path / "model")
    from_folder = SequenceClassifier(pretrained=tmp_path / "model", max_epochs=0, random_state=1).fit(tokens, Y)
    scratch = SequenceClassifier(max_epochs=0, **{**TINY, "random_state": 1}).fit(tokens, Y)
    for model in (from_object, from_folder):
        for (name, value), expected in zip(model.module_.encoder.state_dict().items(), pretrainer.module_.encoder.state_dict().values()):
            assert torch.equal(value, expected), name
    assert not torch.equal(scratch.module_.encoder.embedding.weight, pretrainer.module_.encoder.embedding.weight)
    assert from_object.module_.encoder.embedding.embedding_dim == 16  # sizes come from the pretrained model


def test_pretrained_model_guards(tmp_path):
    pretrainer = MaskedLMPretrainer(max_epochs=1, **TINY).fit(KmerTokenizer(k=3).transform(X))
    with pytest.raises(ValueError, match=r"^The pretrained model was trained on KmerTokenizer tokens with another vocabulary"):
        SequenceClassifier(pretrained=pretrainer, max_epochs=0).fit(KmerTokenizer(k=4).transform(X), Y)
    with pytest.raises(ValueError, match=r"fixes the model's sizes, but module__d_model=32 \(pretrained: 16\)\. Drop these"):
        SequenceClassifier(pretrained=pretrainer, module__d_model=32, max_epochs=0).fit(KmerTokenizer(k=3).transform(X), Y)
    with pytest.raises(FileNotFoundError, match=r"is not a pretrained model: it has no config\.json"):
        SequenceClassifier(pretrained=tmp_path, max_epochs=0).fit(KmerTokenizer(k=3).transform(X), Y)


def test_masking_rates_and_never_special_tokens():
    ids = torch.randint(5, 9, (400, 100))
    ids[:, 0], ids[:, -1] = 2, 3
    ids[:200, 80:] = 0  # padding
    mask = ids != 0
    masked, labels = mask_tokens(ids, mask, [0, 1, 2, 3, 4], 4, 9, torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert not chosen[~mask].any() and not chosen[:, 0].any() and not chosen[:, -1].any()
    eligible = mask.sum() - 2 * 400
    assert abs(chosen.sum() / eligible - 0.15) < 0.01
    became_mask = (masked == 4) & chosen
    unchanged = (masked == ids) & chosen
    assert abs(became_mask.sum() / chosen.sum() - 0.8) < 0.02
    assert abs(unchanged.sum() / chosen.sum() - 0.1 - 0.1 * 0.25) < 0.02  # 10% kept, plus random draws of itself
    assert torch.equal(labels[chosen], ids[chosen])
    assert masked[~chosen].equal(ids[~chosen])


def test_masked_lm_loss_falls_on_real_genome_windows(shared_data):
    records = read_fasta(shared_data / "genomes" / "ecoli_K12_MG1655.fa.gz")
    windows = genome_windows(records, length=128, stride=4096)[:600]
    tokens = KmerTokenizer(k=3, stride=3).transform(windows)
    pretrainer = MaskedLMPretrainer(module__d_model=32, module__n_heads=2, module__n_layers=1, max_epochs=4, lr=3e-3, random_state=0)
    pretrainer.fit(tokens)
    losses = pretrainer.history[:, "train_loss"]
    assert losses[-1] < losses[0] - 0.05
    assert losses[-1] < np.log(64)  # better than guessing among the 64 3-mers


def test_pretrainer_embeddings_feed_a_linear_model():
    model = make_pipeline(KmerTokenizer(k=3), MaskedLMPretrainer(max_epochs=1, **TINY), LogisticRegression())
    model.fit(X, Y)
    assert model.predict(X[:3]).shape == (3,)


def test_checkpoints_resume_an_interrupted_fit(tmp_path):
    tokens = KmerTokenizer(k=3).transform(X[:64])
    full = SequenceClassifier(max_epochs=4, **TINY).fit(tokens, Y[:64])
    SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, **TINY).fit(tokens, Y[:64])  # "interrupted" after 2
    resumed = SequenceClassifier(max_epochs=4, checkpoint_dir=tmp_path, **TINY).fit(tokens, Y[:64])
    assert len(resumed.history) == 4
    # the first two epochs come from the checkpoint; the lr schedule continues (same total length)
    assert resumed.history[-1, "batches", -1, "lr"] == pytest.approx(full.history[-1, "batches", -1, "lr"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # one file, written atomically


_FIT_SCRIPT = """
import sys, numpy as np, torch
torch.set_num_threads(1)
from dnatok import KmerTokenizer
from dnatok.datasets import make_motif_classification
from estimators import SequenceClassifier
X, y = make_motif_classification(400, length=60, random_state=0)
tokens = KmerTokenizer(k=3).transform(X)
checkpoint = None if sys.argv[1] == "-" else sys.argv[1]
model = SequenceClassifier(module__d_model=16, module__n_heads=2, module__n_layers=1, batch_size=16,
                           max_epochs=8, early_stopping=3, random_state=0, checkpoint_dir=checkpoint)
model.fit(tokens, y)
np.save(sys.argv[2], model.predict_proba(tokens))
"""


def _run_fit(checkpoint, output):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", _FIT_SCRIPT, str(checkpoint), str(output)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_a_fit_killed_at_any_moment_resumes_to_the_same_model(tmp_path, seed):
    import random
    import signal
    import time

    reference = _run_fit("-", tmp_path / "reference.npy")
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-2000:]
    checkpoint = tmp_path / "ckpt"
    killed = _run_fit(checkpoint, tmp_path / "killed.npy")
    saved = checkpoint / "checkpoint.pt"

    def next_save(after):  # the time the checkpoint is next rewritten (once per epoch)
        while not saved.exists() or saved.stat().st_mtime_ns == after:
            assert killed.poll() is None, killed.stderr.read()[-2000:]
            time.sleep(0.005)
        return saved.stat().st_mtime_ns

    first = next_save(None)
    epoch_seconds = (next_save(first) - first) / 1e9
    # patience 3 means at least 4 epochs: 2 done, so a moment within 1.5 epochs is mid-fit
    time.sleep(random.Random(seed).uniform(0.0, 1.5) * epoch_seconds)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL  # killed while training, not after
    resumed = _run_fit(checkpoint, tmp_path / "resumed.npy")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "reference.npy"))
    assert sorted(p.name for p in checkpoint.iterdir()) == ["checkpoint.pt"]


def test_the_checkpoint_saves_after_the_users_callbacks(tmp_path):
    import json

    from skorch.callbacks import Callback

    class Marker(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.history.record("marked", True)

    tokens = KmerTokenizer(k=3).transform(X[:64])
    SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, callbacks=[("marker", Marker())], **TINY).fit(tokens, Y[:64])
    saved = json.loads(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["history"])
    assert [epoch.get("marked") for epoch in saved] == [True, True]


def test_partial_fit_trains_further_with_a_checkpoint_dir(tmp_path):
    tokens = KmerTokenizer(k=3).transform(X[:64])
    model = SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, **TINY).fit(tokens, Y[:64])
    model.partial_fit(tokens, Y[:64])
    assert len(model.history) == 4  # fit resumes to max_epochs; partial_fit adds max_epochs more


def test_misspelled_module_parameters_are_refused():
    tokens = KmerTokenizer(k=3).transform(X[:32])
    with pytest.raises(ValueError, match=r"modul__d_model"):
        SequenceClassifier(max_epochs=1, modul__d_model=8, **TINY).fit(tokens, Y[:32])


def test_foreign_damaged_and_other_data_checkpoints(tmp_path):
    tokens = KmerTokenizer(k=3).transform(X[:64])
    SequenceClassifier(max_epochs=1, checkpoint_dir=tmp_path, **TINY).fit(tokens, Y[:64])
    with pytest.raises(ValueError, match=r"The checkpoint in .* belongs to another run .* Use another checkpoint_dir, or delete"):
        SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, **{**TINY, "module__d_model": 8}).fit(tokens, Y[:64])
    with pytest.raises(ValueError, match=r"belongs to another run"):
        SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, **TINY).fit(KmerTokenizer(k=4).transform(X[:64]), Y[:64])
    # other data (another fold sharing the folder): not used; the fit starts afresh
    other = KmerTokenizer(k=3).transform(X[64:128])
    with pytest.warns(UserWarning, match=r"was made on other data than this fit's, so it is not used: the fit starts afresh"):
        shared = SequenceClassifier(max_epochs=1, checkpoint_dir=tmp_path, **TINY).fit(other, Y[64:128])
    fresh = SequenceClassifier(max_epochs=1, **TINY).fit(other, Y[64:128])
    np.testing.assert_array_equal(shared.predict_proba(other), fresh.predict_proba(other))
    data = (tmp_path / "checkpoint.pt").read_bytes()
    (tmp_path / "checkpoint.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match=r"The checkpoint .*checkpoint\.pt cannot be read .* Delete it to start afresh"):
        SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, **TINY).fit(tokens, Y[:64])
    # a checkpoint that would run code when unpickled: refused, and never with torch's
    # advice to load it with weights_only=False
    torch.save({"format": 1, "payload": _RunsCode()}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"cannot be read \(UnpicklingError: it holds objects other than tensors") as refused:
        SequenceClassifier(max_epochs=2, checkpoint_dir=tmp_path, **TINY).fit(tokens, Y[:64])
    assert "weights_only" not in str(refused.value)


class _RunsCode:
    def __reduce__(self):
        return (print, ("this checkpoint ran code",))


def test_early_stopping_holds_out_a_stratified_split_and_stops():
    model = SequenceClassifier(max_epochs=20, early_stopping=2, lr=1e-9, warmup_fraction=None, **TINY)
    model.fit(KmerTokenizer(k=3).transform(X), Y)
    assert len(model.history) < 20
    assert "valid_loss" in model.history[-1]


def test_learning_rate_warms_up_then_decays_and_gradients_are_clipped():
    model = SequenceClassifier(max_epochs=3, lr=1e-2, warmup_fraction=0.2, gradient_clip_value=0.5, **TINY)
    model.fit(KmerTokenizer(k=3).transform(X[:160]), Y[:160])
    rates = [batch["lr"] for epoch in model.history for batch in epoch["batches"]]
    peak = int(np.argmax(rates))
    assert 0 < peak < len(rates) - 1 and max(rates) <= 1e-2
    assert rates[0] < rates[peak] and rates[-1] < 0.1 * rates[peak]
    assert "gradient_clip" in dict(model.callbacks_)


def test_mixed_precision_runs():
    model = SequenceClassifier(max_epochs=1, mixed_precision=True, **TINY).fit(KmerTokenizer(k=3).transform(X[:64]), Y[:64])
    assert np.isfinite(model.predict_proba(KmerTokenizer(k=3).transform(X[:4]))).all()


def _subnormals_flushed():
    return float(torch.tensor([1e-39]) * 2) == 0.0


class _RecordFlushing(Callback):
    def initialize(self):
        self.seen_ = []
        return self

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self.seen_.append((training, _subnormals_flushed()))


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush subnormals")
def test_subnormals_are_flushed_while_training_and_predicting_only():
    # subnormal gradients slow x86 arithmetic many-fold as a model trains
    record = _RecordFlushing()
    tokens = KmerTokenizer(k=3).transform(X[:64])
    model = SequenceClassifier(max_epochs=2, early_stopping=2, callbacks=[record], **TINY).fit(tokens, Y[:64])
    assert {training for training, _ in record.seen_} == {True, False}  # training and validation
    assert all(flushed for _, flushed in record.seen_)
    assert not _subnormals_flushed()  # the caller's arithmetic is left IEEE
    inside = []
    model.module_.register_forward_hook(lambda *_: inside.append(_subnormals_flushed()))
    model.predict_proba(tokens)
    model.transform(tokens)
    assert inside and all(inside) and not _subnormals_flushed()

def _flushed_share():
    """Share of a large product flushed to zero: each of torch's threads computes a part."""
    return float(((torch.full((1 << 22,), 1e-30) * 1e-10) == 0).float().mean())


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush subnormals")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="torch's OpenMP team is reached on Linux")
def test_subnormals_are_flushed_on_every_thread_of_torch():
    """Every thread's part of a parallel product is flushed inside the block, none after it
    (set on the caller alone, the threads torch started before kept IEEE: half flushed)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert _flushed_share() == 0.0  # the team exists, started without the mode
        with flushing_subnormals():
            assert _flushed_share() == 1.0
        assert _flushed_share() == 0.0
    finally:
        torch.set_num_threads(threads)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_and_prediction():
    model = make_pipeline(KmerTokenizer(k=3), SequenceClassifier(max_epochs=1, device="cuda", mixed_precision=True, **TINY))
    model.fit(X, Y)
    assert next(model[-1].module_.parameters()).is_cuda
    assert model.predict(X[:4]).shape == (4,)


def test_time_budget_stops_training():
    model = SequenceClassifier(max_epochs=1000, max_time=0.5, **TINY)
    model.fit(KmerTokenizer(k=3).transform(X), Y)
    # every finished epoch ended its training within the budget, so together they took at
    # most the budget and one epoch's validation (the epoch cut short records no "dur")
    durations = [epoch["dur"] for epoch in model.history if "dur" in epoch]
    assert sum(durations) < 0.5 + max(durations, default=0)
    assert np.isfinite(model.predict_proba(KmerTokenizer(k=3).transform(X[:2]))).all()


def test_masked_lm_pretrainer_uses_its_criterion():
    tokens = KmerTokenizer(k=3).transform(X[:64])
    calls = []

    class Counting(torch.nn.CrossEntropyLoss):
        def forward(self, logits, labels):
            calls.append(logits.shape)
            return super().forward(logits, labels)

    MaskedLMPretrainer(criterion=Counting, module__d_model=16, module__n_heads=2, max_epochs=1, random_state=0).fit(tokens)
    assert calls and all(shape[1] == tokens.vocab_size for shape in calls)


def test_cls_pooling_needs_a_cls_token():
    tokens = KmerTokenizer(k=3, add_special_tokens=False).transform(X[:20])
    with pytest.raises(ValueError, match=r"^module__pooling='cls' reads the \[CLS\] token, but the KmerTokenizer output "
                                         r"has no \[CLS\] first"):
        SequenceClassifier(module__pooling="cls", max_epochs=0).fit(tokens, Y[:20])


def test_training_data_is_shuffled_every_epoch():
    tokens = CharTokenizer().transform(X[:64])

    def first_batches(net):
        dataset = net.get_dataset(tokens, Y[:64])
        return [next(iter(net.get_iterator(dataset, training=True)))[0]["input_ids"].tolist() for _ in range(2)]

    shuffled = first_batches(SequenceClassifier(batch_size=8))
    assert shuffled[0] != shuffled[1] and shuffled[0] != tokens["input_ids"][:8].tolist()
    in_order = first_batches(SequenceClassifier(batch_size=8, iterator_train__shuffle=False))
    assert in_order == [tokens["input_ids"][:8].tolist()] * 2


def test_single_nucleotide_classifier_learns_real_promoters(gue_tata):
    """The defect behind issue 7: over single nucleotides the classifier learnt nothing.

    A small model on 1,500 real prom_core_tata sequences, scored on 500 others of the
    training split (the test split is never read here).
    """
    from sklearn.metrics import matthews_corrcoef

    X_all, y_all = gue_tata
    model = make_pipeline(CharTokenizer(), SequenceClassifier(module__d_model=32, module__n_heads=2, max_epochs=4,
                                                              random_state=0))
    model.fit(X_all[:1500], y_all[:1500])
    assert matthews_corrcoef(y_all[1500:2000], model.predict(X_all[1500:2000])) > 0.3


def test_damaged_or_mixed_pretrained_folders_are_refused_by_name(tmp_path):
    import json

    from dnatok import MxDNATokenizer
    from dnatok.nn import load_pretrained, save_pretrained

    pretrainer = make_pipeline(KmerTokenizer(k=3), MaskedLMPretrainer(max_epochs=1, **TINY)).fit(X[:40])[-1]
    folder = tmp_path / "model"
    pretrainer.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    good = (folder / "config.json").read_text()

    (folder / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "tokenizer_name"}))
    with pytest.raises(ValueError, match=r"config\.json lacks tokenizer_name: it was not written by save_pretrained"):
        load_pretrained(folder)
    (folder / "config.json").write_text(good[:-20])
    with pytest.raises(ValueError, match=r"config\.json is not a valid JSON config \(JSONDecodeError"):
        load_pretrained(folder)
    (folder / "config.json").write_bytes(b"\xff\xfe{" + good.encode()[1:])
    with pytest.raises(ValueError, match=r"config\.json is not a valid JSON config \(UnicodeDecodeError"):
        load_pretrained(folder)
    (folder / "config.json").write_text(good)
    weights = (folder / "encoder.pt").read_bytes()
    (folder / "encoder.pt").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ValueError, match=r"encoder\.pt is not the file that .*config\.json was saved with: the folder mixes two saves"):
        load_pretrained(folder)
    # without the recorded hashes (an older folder), the damage itself is named
    (folder / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "files"}))
    with pytest.raises(ValueError, match=r"Could not read the weights in .*encoder\.pt .* truncated or damaged"):
        load_pretrained(folder)

    # an MxDNA model saved into the folder leaves head.pt; a transformer saved over it
    # must not inherit that head
    mxdna = tmp_path / "reused"
    MxDNATokenizer().set_params(pretrainer__module__d_model=8, pretrainer__module__n_heads=2,
                                pretrainer__module__n_token_layers=1, pretrainer__module__n_experts=3,
                                pretrainer__max_epochs=1, pretrainer__random_state=0).fit(X[:20]).save_pretrained(mxdna)
    assert (mxdna / "head.pt").exists()
    pretrainer.save_pretrained(mxdna)  # its own masked-LM head replaces MxDNA's
    assert load_pretrained(mxdna).head_state_dict.keys() == pretrainer.get_pretrained().head_state_dict.keys()
    headless = pretrainer.get_pretrained()
    headless.head_state_dict = None
    save_pretrained(headless, mxdna)
    assert not (mxdna / "head.pt").exists() and load_pretrained(mxdna).head_state_dict is None
