"""Behaviour of each tokenizer beyond the shared contract."""

import json
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, reverse_complement
from dnatok.datasets import make_motif_classification

acgt = st.text(alphabet="ACGT", max_size=80)
acgtn = st.text(alphabet="ACGTNacgtn", max_size=80)


def naive_kmers(sequence, k, stride):
    """Plain reference: every k-mer start, N-containing k-mers as [UNK]."""
    sequence = sequence.upper()
    kmers = [sequence[i:i + k] for i in range(0, len(sequence) - k + 1, stride)]
    return ["[UNK]" if "N" in kmer else kmer for kmer in kmers]


# -- KmerTokenizer -------------------------------------------------------------------


def test_kmer_vocabulary_order_is_specials_then_lexicographic():
    vocab = KmerTokenizer(k=2).get_vocab()
    tokens = sorted(vocab, key=vocab.get)
    assert tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tokens[5:] == ["".join(p) for p in product("ACGT", repeat=2)]
    assert KmerTokenizer(k=6).get_vocab_size() == 4 ** 6 + 5


@settings(max_examples=200, deadline=None)
@given(sequence=acgtn, k=st.integers(1, 7), stride=st.integers(1, 8))
def test_kmer_tokens_equal_the_plain_reference(sequence, k, stride):
    tokenizer = KmerTokenizer(k=k, stride=stride)
    assert tokenizer.tokenize(sequence) == naive_kmers(sequence, k, stride)


def test_kmer_ids_for_a_batch_of_mixed_lengths_match_tokenize():
    tokenizer = KmerTokenizer(k=3, stride=2)
    sequences = ["ACGTACGTAA", "", "AC", "TTTNGGGCCCA", "ACGTT"]
    Xt = tokenizer.transform(sequences)
    vocab = tokenizer.get_vocab()
    for row, mask, sequence in zip(Xt["input_ids"], Xt["attention_mask"], sequences):
        expected = [vocab["[CLS]"]] + [vocab[t] for t in naive_kmers(sequence, 3, 2)] + [vocab["[SEP]"]]
        assert row[mask].tolist() == expected


def test_kmer_counts_equal_countvectorizer_on_real_gue(gue_tata):
    sequences = gue_tata[0][:2000]
    ours = KmerTokenizer(k=6, output="counts")
    counts = ours.fit_transform(sequences)
    reference = CountVectorizer(analyzer="char", ngram_range=(6, 6), lowercase=False)
    expected = reference.fit_transform(sequences)
    names = list(ours.get_feature_names_out())
    columns = [names.index(name) for name in reference.get_feature_names_out()]
    assert (counts[:, columns] != expected).nnz == 0
    assert counts.sum() == expected.sum()  # nothing counted outside the shared k-mers


def test_kmer_counts_pipeline_learns_planted_motifs():
    X, y = make_motif_classification(600, length=60, random_state=0)
    model = make_pipeline(KmerTokenizer(k=6, output="counts"), LogisticRegression(max_iter=500))
    model.fit(X[:400], y[:400])
    assert model.score(X[400:], y[400:]) > 0.75


@settings(max_examples=100, deadline=None)
@given(data=st.data(), k=st.integers(1, 6), stride=st.integers(1, 6))
def test_kmer_decode_inverts_encode_where_lossless(data, k, stride):
    stride = min(stride, k)
    n_steps = data.draw(st.integers(0, 12))
    sequence = data.draw(st.text(alphabet="ACGT", min_size=k + n_steps * stride, max_size=k + n_steps * stride))
    tokenizer = KmerTokenizer(k=k, stride=stride)
    assert tokenizer.inverse_transform(tokenizer.transform([sequence])) == [sequence]


def test_kmer_decode_refuses_gapped_strides():
    tokenizer = KmerTokenizer(k=2, stride=3)
    with pytest.raises(ValueError, match=r"^Cannot decode: stride=3 > k=2 skips bases between k-mers\.$"):
        tokenizer.decode(tokenizer.transform(["ACGTACGT"])["input_ids"][0])


# -- padding, truncation and special tokens (shared by all tokenizers) ----------------


def test_max_length_pads_and_truncates_keeping_sep():
    Xt = CharTokenizer(max_length=5).transform(["ACGTACGT", "AC"])
    np.testing.assert_array_equal(Xt["input_ids"], [[2, 5, 7, 8, 3], [2, 5, 7, 3, 0]])
    np.testing.assert_array_equal(Xt["attention_mask"].sum(axis=1), [5, 4])


def test_truncation_false_names_the_first_long_sequence():
    with pytest.raises(
        ValueError,
        match=r"^Sequence 1 has 8 tokens, more than max_length=5 allows \(3 after \[CLS\] "
        r"and \[SEP\]\); 2 sequence\(s\) are too long\. Pass truncation=True or a larger max_length\.$",
    ):
        CharTokenizer(max_length=5, truncation=False).transform(["AC", "ACGTACGT", "ACGTA"])


def test_max_length_must_leave_room_for_special_tokens():
    with pytest.raises(ValueError, match=r"^max_length=1 leaves no room for \[CLS\] and \[SEP\]"):
        CharTokenizer(max_length=1).transform(["AC"])
    Xt = CharTokenizer(max_length=1, add_special_tokens=False).transform(["AC"])
    assert Xt["input_ids"].tolist() == [[5]]


def test_without_special_tokens():
    Xt = KmerTokenizer(k=2, add_special_tokens=False).transform(["ACG", "A"])
    assert Xt["input_ids"].tolist() == [[6, 11], [0, 0]]
    assert Xt["attention_mask"].tolist() == [[True, True], [False, False]]


# -- CharTokenizer -------------------------------------------------------------------


def test_char_vocabulary_is_mxdna():
    assert CharTokenizer().get_vocab() == {
        "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "A": 5, "T": 6, "C": 7, "G": 8,
    }
    assert CharTokenizer().transform(["ATCGNatcgn"])["input_ids"].tolist() == [[2, 5, 6, 7, 8, 1, 5, 6, 7, 8, 1, 3]]


@given(sequence=acgt)
def test_char_decode_inverts_encode(sequence):
    tokenizer = CharTokenizer()
    assert tokenizer.inverse_transform(tokenizer.transform([sequence])) == [sequence]
    assert tokenizer.tokenize(sequence) == list(sequence)


def test_tokenize_takes_one_string():
    with pytest.raises(TypeError, match=r"^tokenize takes one sequence as a str, got list; use transform"):
        CharTokenizer().tokenize(["ACGT"])


# -- BPETokenizer --------------------------------------------------------------------


@pytest.fixture(scope="module")
def bpe_on_gue(gue_tata):
    return BPETokenizer(vocab_size=200).fit(gue_tata[0][:1000])


def test_bpe_learns_longer_tokens_from_real_data(bpe_on_gue, gue_tata):
    assert bpe_on_gue.get_vocab_size() == 200
    vocab = bpe_on_gue.get_vocab()
    assert [vocab[t] for t in ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]] == [0, 1, 2, 3, 4]
    tokens = bpe_on_gue.tokenize(gue_tata[0][0])
    assert "".join(tokens) == gue_tata[0][0]
    assert len(tokens) < len(gue_tata[0][0]) / 2


def test_bpe_never_merges_across_n():
    tokenizer = BPETokenizer(vocab_size=60).fit(["ACGTNACGT" * 20, "ACGNNNTACG" * 20])
    assert not any("N" in token for token in tokenizer.get_vocab() if not token.startswith("["))
    tokens = tokenizer.tokenize("ACGNTACG")
    split = tokens.index("[UNK]")
    assert "".join(tokens[:split]) == "ACG" and "".join(tokens[split + 1:]) == "TACG"


@settings(max_examples=50, deadline=None)
@given(sequence=acgt)
def test_bpe_decode_inverts_encode(bpe_on_gue, sequence):
    assert bpe_on_gue.inverse_transform(bpe_on_gue.transform([sequence])) == [sequence]


def test_bpe_round_trips_tokenizer_json(bpe_on_gue, gue_tata, tmp_path):
    path = tmp_path / "tokenizer.json"
    bpe_on_gue.save(path)
    loaded = BPETokenizer(tokenizer_file=path).fit(["A"])
    sequences = gue_tata[0][1000:1100]
    np.testing.assert_array_equal(loaded.transform(sequences)["input_ids"], bpe_on_gue.transform(sequences)["input_ids"])
    assert loaded.get_vocab() == bpe_on_gue.get_vocab()
    assert json.loads(path.read_text())["model"]["type"] == "BPE"
    assert not list(tmp_path.glob("*.partial"))


def dnabert2_style_file(path):
    """A tokenizer.json in DNABERT-2's layout: specials [UNK]=0 [CLS]=1 [SEP]=2 [PAD]=3
    [MASK]=4, a BPE model with whitespace pre-tokenization and a [CLS] $A [SEP] template."""
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    vocab = {token: i for i, token in enumerate(specials + ["A", "C", "G", "T", "TA", "TATA", "CG", "AAT"])}
    merges = [["T", "A"], ["TA", "TA"], ["C", "G"], ["A", "A"], ["AA", "T"]]
    vocab["AA"] = len(vocab)
    content = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(specials)
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]},
        },
        "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": merges},
    }
    path.write_text(json.dumps(content))
    return vocab


def test_bpe_uses_a_published_dnabert2_layout_as_is(tmp_path):
    path = tmp_path / "tokenizer.json"
    vocab = dnabert2_style_file(path)
    tokenizer = BPETokenizer(tokenizer_file=path).fit(["ACGT"])
    assert tokenizer.tokenize("TATACGAATG") == ["TATA", "CG", "AAT", "G"]
    Xt = tokenizer.transform(["TATACGAATG", "CG"])
    assert (Xt.unk_token_id, Xt.cls_token_id, Xt.sep_token_id, Xt.pad_token_id, Xt.mask_token_id) == (0, 1, 2, 3, 4)
    assert Xt["input_ids"].tolist() == [
        [1, vocab["TATA"], vocab["CG"], vocab["AAT"], vocab["G"], 2],
        [1, vocab["CG"], 2, 3, 3, 3],
    ]
    assert Xt.vocab_size == len(vocab)


def test_bpe_file_without_special_tokens_is_refused(tmp_path):
    path = tmp_path / "tokenizer.json"
    dnabert2_style_file(path)
    content = json.loads(path.read_text())
    content["added_tokens"] = [t for t in content["added_tokens"] if t["content"] != "[MASK]"]
    del content["model"]["vocab"]["[MASK]"]
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r"lacks the special token\(s\) \[MASK\]; dnatok needs \[PAD\], \[UNK\]"):
        BPETokenizer(tokenizer_file=path).fit(["ACGT"])


def test_bpe_unreadable_file_is_named(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text("not json")
    with pytest.raises(ValueError, match=r"^Could not read .*tokenizer\.json as a HF tokenizer\.json file"):
        BPETokenizer(tokenizer_file=path).fit(["ACGT"])


# -- sequence helpers ----------------------------------------------------------------


@given(sequence=acgtn)
def test_reverse_complement_is_an_involution(sequence):
    assert reverse_complement(reverse_complement(sequence)) == sequence
    assert reverse_complement(sequence).upper().count("A") == sequence.upper().count("T")


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 30), min_size=1, max_size=6),
    repeats=st.integers(1, 20),
    k=st.integers(1, 5),
    stride=st.integers(1, 4),
    max_length=st.one_of(st.none(), st.integers(2, 20)),
    seed=st.integers(0, 2**16),
)
def test_block_layout_equals_flat_scatter(lengths, repeats, k, stride, max_length, seed):
    # runs of equal lengths take the block-copy path; it must equal the generic scatter
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGTN"), n)) for n in np.repeat(lengths, repeats)]
    for tokenizer in (KmerTokenizer(k=k, stride=stride, max_length=max_length), CharTokenizer(max_length=max_length)):
        fast = tokenizer.transform(sequences)
        slow = tokenizer._to_padded(*tokenizer._encode_flat(sequences))
        np.testing.assert_array_equal(fast["input_ids"], slow["input_ids"])
        np.testing.assert_array_equal(fast["attention_mask"], slow["attention_mask"])


@pytest.mark.parametrize("max_length", [None, 2, 5, 40])
@pytest.mark.parametrize("add_special_tokens", [True, False])
def test_bpe_padding_in_rust_equals_the_shared_layout(bpe_on_gue, gue_tata, max_length, add_special_tokens):
    tokenizer = clone_fitted(bpe_on_gue, max_length=max_length, add_special_tokens=add_special_tokens)
    sequences = gue_tata[0][:50] + ["", "ACGNNT", "acgt"]
    fast = tokenizer.transform(sequences)
    slow = tokenizer._to_padded(*tokenizer._encode_flat(sequences))
    np.testing.assert_array_equal(fast["input_ids"], slow["input_ids"])
    np.testing.assert_array_equal(fast["attention_mask"], slow["attention_mask"])


def test_bpe_without_truncation_pads_to_max_length_or_names_the_long_sequence(bpe_on_gue):
    tokenizer = clone_fitted(bpe_on_gue, max_length=30, truncation=False)
    assert tokenizer.transform(["ACGT"])["input_ids"].shape == (1, 30)
    with pytest.raises(ValueError, match=r"^Sequence 1 has \d+ tokens, more than max_length=30 allows \(28 after"):
        tokenizer.transform(["ACGT", "ACGTTGCA" * 40])


def clone_fitted(tokenizer, **params):
    import copy

    return copy.deepcopy(tokenizer).set_params(**params)
