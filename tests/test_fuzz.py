"""Generated hostile input for every tokenizer: only the documented errors, never a crash.

Bounded for CI (a few dozen examples per property): surrogates, control characters,
any Unicode, mixed types, dicts, and floats or huge numbers as ids. Each input must
either work or raise ValueError/TypeError with one of dnatok's own messages.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, MxDNATokenizer

TRAINING = ["ACGTACGTTTGACCA", "GGGATTACAACGT", "TTTTAACCGGACGT"] * 4
TOKENIZERS = {
    "kmer": lambda: KmerTokenizer(k=3),
    "char": lambda: CharTokenizer(),
    "bpe": lambda: BPETokenizer(vocab_size=20),
    "mxdna": lambda: MxDNATokenizer().set_params(
        pretrainer__module__d_model=8, pretrainer__module__n_heads=2, pretrainer__module__n_token_layers=1,
        pretrainer__module__n_experts=3, pretrainer__max_epochs=0, pretrainer__random_state=0),
}
FITTED = {}
# the openings of every message dnatok raises for bad input
OUR_MESSAGES = (
    "Characters outside ACGTN", "Sequence ", "Expected an iterable of DNA sequences",
    "Expected a 1-D collection", "X contains no sequences", "Token ids must be",
    "Expected the token ids of one sequence",
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASES = st.sampled_from(list("ACGTNacgtn"))
HOSTILE = st.one_of(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.characters(max_codepoint=0x1F),  # control characters, NUL included
    st.characters(),  # anything Unicode
)
SEQUENCE = st.lists(st.one_of(BASES, BASES, BASES, HOSTILE), max_size=30).map("".join)
ITEM = st.one_of(SEQUENCE, SEQUENCE, SEQUENCE, st.none(), st.integers(), st.floats(), st.binary(max_size=5),
                 st.lists(BASES, max_size=3))


@pytest.fixture(scope="module", params=list(TOKENIZERS), ids=list(TOKENIZERS))
def tokenizer(request):
    if request.param not in FITTED:
        FITTED[request.param] = TOKENIZERS[request.param]().fit(TRAINING)
    return FITTED[request.param]


def _ours(error):
    return isinstance(error, (ValueError, TypeError)) and str(error).startswith(OUR_MESSAGES)


def _call(function, *args):
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001: the point is to see every kind
        assert _ours(error), f"{type(error).__name__}: {error}"
        return None


@SETTINGS
@given(sequences=st.lists(SEQUENCE, min_size=1, max_size=6))
def test_any_text_is_tokenized_or_named(tokenizer, sequences):
    tokens = _call(tokenizer.transform, sequences)
    clean = all(set(s) <= set("ACGTNacgtn") for s in sequences)
    assert (tokens is not None) == clean  # exactly the ACGTN text works
    unk = tokenizer.set_params(handle_unknown="unk")
    try:
        tokens = unk.transform(sequences)  # with 'unk' every text works
    finally:
        tokenizer.set_params(handle_unknown="error")
    assert tokens["input_ids"].shape[0] == len(sequences)
    if clean and all(set(s) <= set("ACGT") for s in sequences) and not isinstance(tokenizer, KmerTokenizer):
        assert tokenizer.inverse_transform(tokens) == [s.upper() for s in sequences]


@SETTINGS
@given(items=st.lists(ITEM, min_size=0, max_size=6))
def test_mixed_collections_are_refused_by_name(tokenizer, items):
    _call(tokenizer.transform, items)


@SETTINGS
@given(value=st.one_of(st.dictionaries(SEQUENCE, st.integers(), max_size=3), SEQUENCE, st.none(), st.integers()))
def test_things_that_are_not_collections_are_refused_by_name(tokenizer, value):
    with pytest.raises((TypeError, ValueError)) as error:
        tokenizer.transform(value)
    assert _ours(error.value), str(error.value)


@SETTINGS
@given(ids=st.one_of(
    st.lists(st.one_of(st.integers(-10, 10**12), st.floats(allow_nan=True, allow_infinity=True)), max_size=6),
    st.floats(), st.integers(),
    st.lists(st.lists(st.integers(0, 8), min_size=1, max_size=3), min_size=1, max_size=3),
))
def test_any_ids_decode_or_are_refused_by_name(tokenizer, ids):
    text = _call(tokenizer.decode, ids)
    if text is not None:
        values = np.asarray(ids, dtype=float).ravel()
        assert all(math.isfinite(v) and v == int(v) and 0 <= v < tokenizer.get_vocab_size() for v in values)
        assert set(text) <= set("ACGTN")
