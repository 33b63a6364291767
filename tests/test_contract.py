"""The scikit-learn contract, checked on every dnatok tokenizer and estimator.

sklearn's own ``check_estimator`` skips estimators that take strings, so this file
is our version of it. Every tokenizer (and, as they are added, every estimator)
goes into ``CASES`` and must pass every test here.
"""

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, MxDNATokenizer, TokenizedSequences
from dnatok.datasets import make_motif_classification
from dnatok.nn import MxDNAMaskedLM
from dnatok.training import MaskedLMPretrainer

X_FIT, _ = make_motif_classification(60, length=40, random_state=0)
X_OTHER, _ = make_motif_classification(30, length=25, random_state=1)
X_NEW = ["ACGTACGTTTGA", "acgtnnGGCA", "", "TTTTAAAACCCCGGGG"]

# (factory, a parameter with a bad value)
CASES = {
    "kmer": (lambda: KmerTokenizer(k=3), {"k": 0}),
    "kmer-nonoverlapping": (lambda: KmerTokenizer(k=4, stride=4), {"stride": 0}),
    "char": (lambda: CharTokenizer(), {"max_length": 0}),
    "bpe": (lambda: BPETokenizer(vocab_size=40), {"vocab_size": 3}),
    "mxdna": (
        lambda: MxDNATokenizer(pretrainer=MaskedLMPretrainer(
            MxDNAMaskedLM, module__d_model=8, module__n_heads=2, module__n_token_layers=1, module__n_experts=3,
            max_epochs=1, random_state=0)),
        {"pretrainer": "MaskedLMPretrainer()"},
    ),
}
OUTPUTS = ["ids", "counts"]


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    return CASES[request.param]


def make(case, **params):
    return case[0]().set_params(**params)


def assert_same_output(a, b):
    if sp.issparse(a):
        assert (a != b).nnz == 0 and a.shape == b.shape
    else:
        np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
        np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])
        assert a.vocab_fingerprint == b.vocab_fingerprint


def test_init_only_stores_parameters(case):
    estimator = make(case)
    assert set(vars(estimator)) == set(estimator.get_params(deep=False))


def comparable(params):
    """Parameters with nested estimators (which clone copies) replaced by their own parameters."""
    return {key: (type(value), comparable(value.get_params(deep=False)))
            if hasattr(value, "get_params") and not isinstance(value, type) else value
            for key, value in params.items()}


def test_clone_and_params_round_trip(case):
    estimator = make(case)
    params = estimator.get_params()
    twin = clone(estimator)
    assert twin is not estimator and comparable(twin.get_params()) == comparable(params)
    rebuilt = type(estimator)(**estimator.get_params(deep=False))
    assert comparable(rebuilt.get_params()) == comparable(params)
    # deep=False: a skorch net (MxDNATokenizer's pretrainer) cannot take its own deep
    # parameters back (skorch refuses callbacks__<name>__<param> before initialisation)
    assert estimator.set_params(**estimator.get_params(deep=False)) is estimator


def test_bad_parameter_value_is_named(case):
    name, value = next(iter(case[1].items()))
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of "):
        make(case, **{name: value}).fit(X_FIT)


def test_fit_returns_self_and_sets_fitted_attributes(case):
    estimator = make(case)
    assert estimator.fit(X_FIT) is estimator
    assert any(key.endswith("_") and not key.startswith("_") for key in vars(estimator))


def test_not_fitted_error_where_the_tokenizer_learns(case):
    estimator = make(case)
    if estimator.__sklearn_tags__().requires_fit:
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            estimator.transform(X_NEW)
    else:  # fixed vocabulary: works straight away, and the same as after fit
        assert_same_output(estimator.transform(X_NEW), clone(estimator).fit(X_FIT).transform(X_NEW))


@pytest.mark.parametrize("output", OUTPUTS)
def test_refit_equals_fitting_once(case, output):
    refitted = make(case, output=output).fit(X_OTHER).fit(X_FIT)
    once = make(case, output=output).fit(X_FIT)
    assert_same_output(refitted.transform(X_NEW), once.transform(X_NEW))


@pytest.mark.parametrize("output", OUTPUTS)
def test_deterministic(case, output):
    a = make(case, output=output).fit(X_FIT).transform(X_NEW)
    b = make(case, output=output).fit(X_FIT).transform(X_NEW)
    assert_same_output(a, b)
    assert_same_output(make(case, output=output).fit_transform(X_FIT), make(case, output=output).fit(X_FIT).transform(X_FIT))


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_and_joblib_round_trip(case, dump, tmp_path):
    estimator = make(case).fit(X_FIT)
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(estimator))
    else:
        joblib.dump(estimator, tmp_path / "tokenizer.joblib")
        loaded = joblib.load(tmp_path / "tokenizer.joblib")
    assert_same_output(loaded.transform(X_NEW), estimator.transform(X_NEW))
    Xt = estimator.transform(X_NEW)
    assert_same_output(pickle.loads(pickle.dumps(Xt)), Xt)
    assert pickle.loads(pickle.dumps(Xt)).tokenizer_name == Xt.tokenizer_name


def test_ids_output_dtypes_shapes_and_hand_off(case):
    estimator = make(case).fit(X_FIT)
    Xt = estimator.transform(X_NEW)
    assert isinstance(Xt, TokenizedSequences) and set(Xt) == {"input_ids", "attention_mask"}
    ids, mask = Xt["input_ids"], Xt["attention_mask"]
    assert ids.dtype == np.int32 and mask.dtype == bool
    assert ids.shape == mask.shape and ids.shape[0] == len(X_NEW)
    assert Xt.vocab_size == estimator.get_vocab_size() == len(estimator.get_vocab())
    assert Xt.tokenizer is estimator and Xt.tokenizer_name == type(estimator).__name__
    assert ids.max() < Xt.vocab_size and ids.min() >= 0
    assert np.all(ids[~mask] == Xt.pad_token_id)
    assert np.all(ids[:, 0] == Xt.cls_token_id)
    lengths = mask.sum(axis=1)
    assert np.all(ids[np.arange(len(ids)), lengths - 1] == Xt.sep_token_id)
    # the empty sequence is just [CLS] [SEP]
    assert lengths[2] == 2


def test_counts_output_dtypes_shapes(case):
    estimator = make(case, output="counts").fit(X_FIT)
    counts = estimator.transform(X_NEW)
    names = estimator.get_feature_names_out()
    assert sp.isspmatrix_csr(counts) and counts.dtype == np.int64
    assert counts.shape == (len(X_NEW), len(names))
    assert not {"[PAD]", "[CLS]", "[SEP]", "[MASK]"} & set(names)
    assert counts[2].nnz == 0  # empty sequence
    # as many counted tokens as tokenize gives
    assert counts.sum(axis=1).A1.tolist() == [len(estimator.tokenize(s)) for s in X_NEW]


def test_feature_names_only_for_counts(case):
    with pytest.raises(AttributeError, match="get_feature_names_out"):
        make(case).fit(X_FIT).get_feature_names_out()


def test_tags_declare_string_input(case):
    tags = make(case).__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


# -- input guards: every tokenizer raises the same, exact messages -------------------


@pytest.mark.parametrize("method", ["fit", "transform"])
@pytest.mark.parametrize(
    "X, error, message",
    [
        ("ACGT", TypeError, r"got a single string\. Wrap it in a list: \[sequence\]\."),
        ([], ValueError, r"^X contains no sequences; pass at least one sequence\.$"),
        (["ACGT", None], ValueError, r"^Sequence 1 is missing \(None\)\. Drop or fill missing sequences"),
        (["ACGT", "AC", float("nan")], ValueError, r"^Sequence 2 is missing \(nan\)\."),
        (["ACGT", 7], TypeError, r"^Sequence 1 is a int, not a str: every sequence must be"),
        (np.array([["ACGT"]]), ValueError, r"got an array of shape \(1, 1\)\. Flatten it"),
        (
            ["ACGT", "ACRY", "acgu", "AC GT", "A1"],
            ValueError,
            r"^Characters outside ACGTN in 4 sequences: sequence 1 has 'R', 'Y'; "
            r"sequence 2 has 'u'; sequence 3 has ' '; sequence 4 has '1'\. Clean the "
            r"sequences, or pass handle_unknown='unk' to map such characters to \[UNK\]\.$",
        ),
        (["ACGTé"], ValueError, r"^Characters outside ACGTN in 1 sequence: sequence 0 has 'é'\."),
        # a lone surrogate (invalid text) is an unknown character, not a UnicodeEncodeError
        (["ACGT", "AC\ud800GT"], ValueError, r"^Characters outside ACGTN in 1 sequence: sequence 1 has '\\ud800'\."),
        # a dict's keys are not sequences; a tokenizer's output is a dict
        ({"ACGT": 1}, TypeError, r"got a dict, whose keys would be read as sequences\. Pass the sequences"),
        (CharTokenizer().transform(["ACGT"]), TypeError, r"got a tokenizer's output, whose keys would be read as sequences"),
        ({"ACGT", "TTTT"}, TypeError, r"got a set, whose order changes from run to run\. Pass a list"),
    ],
)
def test_bad_input_messages(case, method, X, error, message):
    estimator = make(case)
    if method == "transform":
        estimator.fit(X_FIT)
    with pytest.raises(error, match=message):
        getattr(estimator, method)(X)


def test_unknown_characters_can_map_to_unk(case):
    estimator = make(case, handle_unknown="unk").fit(X_FIT)
    tokens = estimator.tokenize("ACRYGT")
    assert "[UNK]" in tokens or "N" in "".join(tokens)  # MxDNA's units are substrings
    assert tokens == estimator.tokenize("ACNNGT")
    assert estimator.tokenize("AC\ud800\udfffGT") == tokens  # lone surrogates are unknown characters too


def test_accepts_numpy_and_pandas_and_lowercase(case):
    pd = pytest.importorskip("pandas")
    estimator = make(case).fit(X_FIT)
    expected = estimator.transform(X_NEW)
    assert_same_output(estimator.transform(np.array(X_NEW, dtype=object)), expected)
    assert_same_output(estimator.transform(pd.Series(X_NEW)), expected)
    assert_same_output(estimator.transform([s.lower() for s in X_NEW]), estimator.transform([s.upper() for s in X_NEW]))


def test_dataframe_is_refused_with_a_hint(case):
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=r"got a DataFrame\. Pass one column, e\.g\. df\['sequence'\]"):
        make(case).fit(pd.DataFrame({"sequence": X_NEW}))


# == estimators ========================================================================
# The same contract for the neural estimators, on tiny models and pre-tokenized input.

from estimators import (  # noqa: E402
    DNABERT2Classifier,
    DNABERT2Embedder,
    DNABERT2Pretrainer,
    DNABERT2Regressor,
    MaskedLMPretrainer,
    MxDNAClassifier,
    MxDNARegressor,
    SequenceClassifier,
    SequenceRegressor,
)

TINY = dict(module__d_model=16, module__n_heads=2, module__n_layers=1, max_epochs=2, batch_size=16, random_state=0)
TINY_MXDNA = {**{k: v for k, v in TINY.items() if k != "module__n_layers"}, "pretrained": None,
              "module__n_token_layers": 1, "module__n_experts": 3}
_TOKENS = KmerTokenizer(k=3)
XT_FIT = _TOKENS.transform(X_FIT)
XT_OTHER = _TOKENS.transform(X_OTHER)
XT_NEW = _TOKENS.transform(X_NEW)
# MxDNA reads single nucleotides
_NUCLEOTIDES = CharTokenizer()
NT = {"fit": _NUCLEOTIDES.transform(X_FIT), "other": _NUCLEOTIDES.transform(X_OTHER), "new": _NUCLEOTIDES.transform(X_NEW)}
KT = {"fit": XT_FIT, "other": XT_OTHER, "new": XT_NEW}
Y_FIT = make_motif_classification(60, length=40, random_state=0)[1]
Y_OTHER = make_motif_classification(30, length=25, random_state=1)[1]

# DNABERT-2 from scratch; tests/test_reference_models.py loads the released layout
TINY_DNABERT2 = {**TINY, "pretrained": None, "module__d_ff": 32}
_SAVED = {}


def _tiny_dnabert2_folder():
    """A tiny DNABERT-2 saved once per session, for the embedder (which never trains)."""
    if "dnabert2" not in _SAVED:
        import tempfile

        path = Path(tempfile.mkdtemp()) / "dnabert2"
        DNABERT2Pretrainer(**TINY_DNABERT2).fit(XT_FIT).save_pretrained(path)
        _SAVED["dnabert2"] = path
    return _SAVED["dnabert2"]


# (factory, targets for X_FIT, targets for X_OTHER, the output to compare, the tokens it reads)
ESTIMATOR_CASES = {
    "classifier": (lambda: SequenceClassifier(**TINY), Y_FIT, Y_OTHER, "predict_proba", KT),
    "regressor": (lambda: SequenceRegressor(**TINY), Y_FIT * 2.5, Y_OTHER * 2.5, "predict", KT),
    "pretrainer": (lambda: MaskedLMPretrainer(**TINY), None, None, "transform", KT),
    # from scratch on nucleotide ids here; tests/test_mxdna.py covers the hand-off
    "mxdna-classifier": (lambda: MxDNAClassifier(**TINY_MXDNA),
                         Y_FIT, Y_OTHER, "predict_proba", NT),
    "mxdna-regressor": (lambda: MxDNARegressor(**TINY_MXDNA),
                        Y_FIT * 2.5, Y_OTHER * 2.5, "predict", NT),
    "dnabert2-classifier": (lambda: DNABERT2Classifier(**TINY_DNABERT2), Y_FIT, Y_OTHER, "predict_proba", KT),
    "dnabert2-regressor": (lambda: DNABERT2Regressor(**TINY_DNABERT2), Y_FIT * 2.5, Y_OTHER * 2.5, "predict", KT),
    "dnabert2-pretrainer": (lambda: DNABERT2Pretrainer(**TINY_DNABERT2), None, None, "transform", KT),
    "dnabert2-embedder": (lambda: DNABERT2Embedder(_tiny_dnabert2_folder(), max_epochs=2, batch_size=16, random_state=0),
                          None, None, "transform", KT),
}


@pytest.fixture(params=list(ESTIMATOR_CASES), ids=list(ESTIMATOR_CASES))
def estimator_case(request):
    return ESTIMATOR_CASES[request.param]


def test_estimator_init_only_stores_parameters(estimator_case):
    estimator = estimator_case[0]()
    params = estimator.get_params()
    public = {k for k in vars(estimator) if not k.startswith("_") and not k.endswith("_")}
    assert public <= set(params)
    assert all(params[k] is getattr(estimator, k) for k in public)


def test_estimator_clone_and_params_round_trip(estimator_case):
    estimator = estimator_case[0]()
    twin = clone(estimator)
    assert twin.get_params(deep=False).keys() == estimator.get_params(deep=False).keys()
    assert twin.set_params(max_epochs=3) is twin and twin.max_epochs == 3 and estimator.max_epochs == 2


def test_estimator_bad_parameter_value_is_named(estimator_case):
    factory, y, _, _, T = estimator_case
    name = type(factory()).__name__
    with pytest.raises(ValueError, match=rf"^The 'max_epochs' parameter of {name} must be an int in the range \[0, inf\)\. Got -1 instead\.$"):
        factory().set_params(max_epochs=-1).fit(T["fit"], y)
    with pytest.raises(ValueError, match=rf"^The 'early_stopping' parameter of {name} must be an int in the range \[1, inf\) or None\. Got 0 instead\.$"):
        factory().set_params(early_stopping=0).fit(T["fit"], y)
    with pytest.raises(ValueError, match=rf"^The 'weight_decay' parameter of {name} must be a float in the range \[0\.0, inf\)\. Got -0\.1 instead\.$"):
        factory().set_params(weight_decay=-0.1).fit(T["fit"], y)
    # a folder given where the module class belongs (the first positional argument)
    with pytest.raises(ValueError, match=rf"^The 'module' parameter of {name} must be an instance of 'type' or None\. "
                                         rf"Got PosixPath\('folder'\) instead\.$"):
        factory().set_params(module=Path("folder")).fit(T["fit"], y)


def test_estimator_fit_returns_self_and_not_fitted_error(estimator_case):
    factory, y, _, output, T = estimator_case
    with pytest.raises(NotFittedError, match=r"instance is not fitted yet\. Call 'fit'"):
        getattr(factory(), output)(T["new"])
    estimator = factory()
    assert estimator.fit(T["fit"], y) is estimator
    assert estimator.vocab_size_ == T["fit"].vocab_size and estimator.module_ is not None


def test_estimator_refit_equals_fitting_once_and_is_reproducible(estimator_case):
    factory, y, y_other, output, T = estimator_case
    once = getattr(factory().fit(T["fit"], y), output)(T["new"])
    refitted = getattr(factory().fit(T["other"], y_other).fit(T["fit"], y), output)(T["new"])
    np.testing.assert_allclose(refitted, once, rtol=1e-5, atol=1e-6)


def test_random_state_does_not_touch_the_global_torch_state(estimator_case):
    import torch

    factory, y, _, _, T = estimator_case
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    factory().fit(T["fit"], y)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_estimator_pickle_and_joblib_predict_identically(estimator_case, dump, tmp_path):
    factory, y, _, output, T = estimator_case
    estimator = factory().fit(T["fit"], y)
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(estimator))
    else:
        joblib.dump(estimator, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(getattr(loaded, output)(T["new"]), getattr(estimator, output)(T["new"]))


def test_estimator_output_shapes(estimator_case):
    factory, y, _, output, T = estimator_case
    estimator = factory().fit(T["fit"], y)
    result = getattr(estimator, output)(T["new"])
    assert result.shape[0] == len(X_NEW)
    embeddings = estimator.transform(T["new"])
    assert embeddings.shape == (len(X_NEW), 16) and embeddings.dtype == np.float32


@pytest.mark.parametrize(
    "X, error, message",
    [
        (X_FIT, TypeError, r"takes tokenized sequences, the output of a dnatok tokenizer's transform; got list\. "
                           r"Put a tokenizer before it, e\.g\. make_pipeline\(KmerTokenizer\(\), "),
        (KmerTokenizer(k=3, output="counts").transform(X_FIT), TypeError, r"got a sparse matrix \(use the tokenizer's output='ids'\)"),
    ],
)
def test_estimator_input_guards(estimator_case, X, error, message):
    factory, y, _, output, T = estimator_case
    with pytest.raises(error, match=message):
        factory().fit(X, y)
    fitted = factory().fit(T["fit"], y)
    with pytest.raises(error, match=message):  # the same message at predict time
        getattr(fitted, output)(X)


@pytest.mark.parametrize("name", ["classifier", "regressor", "pretrainer"])
def test_transformers_refuse_inputs_wider_than_the_model(name):
    factory, y, *_ = ESTIMATOR_CASES[name]
    with pytest.raises(ValueError, match=r"^The sequences are 2000 tokens long, more than the model accepts "
                                         r"\(max_length=1024\)\. Truncate them"):
        factory().fit(KmerTokenizer(k=3, max_length=2000).transform(X_FIT), y)


def test_estimator_refuses_another_vocabulary_at_predict(estimator_case):
    factory, y, _, output, T = estimator_case
    estimator = factory().fit(T["fit"], y)
    with pytest.raises(ValueError, match=r"^X was tokenized with another vocabulary \(KmerTokenizer, fingerprint \w+\) than the one"):
        getattr(estimator, output)(KmerTokenizer(k=4).transform(X_NEW))


def test_every_public_estimator_is_covered():
    import estimators

    public = {name for name in estimators.__all__ if isinstance(getattr(estimators, name), type)
              and issubclass(getattr(estimators, name), estimators.SequenceNet) and name != "SequenceNet"}
    covered = {type(factory()).__name__ for factory, *_ in ESTIMATOR_CASES.values()}
    assert public <= covered


@pytest.mark.parametrize(
    "ids, error, message",
    [
        ([5, -1], ValueError, r"^Token ids must be in \[0, \d+\), got -1\.$"),
        ([5, 10**9], ValueError, r"^Token ids must be in \[0, \d+\), got 1000000000\.$"),
        ([5.0, 0.5], ValueError, r"^Token ids must be whole numbers, got 0\.5\.$"),
        ([5, float("inf")], ValueError, r"^Token ids must be whole numbers, got inf\.$"),
        (3.5, ValueError, r"^Expected the token ids of one sequence \(1-D\), got a single value\. Wrap it in a list\.$"),
        ([[5, 6]], ValueError, r"got an array of shape \(1, 2\)\. Use inverse_transform for several sequences\.$"),
        (["A"], TypeError, r"^Token ids must be integers, got <U1 values\.$"),
    ],
)
@pytest.mark.parametrize("method", ["decode", "convert_ids_to_tokens"])
def test_bad_ids_are_refused(case, method, ids, error, message):
    estimator = make(case).fit(X_FIT)
    with pytest.raises(error, match=message):
        getattr(estimator, method)(ids)
    assert getattr(estimator, method)([5.0]) == getattr(estimator, method)([5])  # whole floats are ids
