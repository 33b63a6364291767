"""Byte-pair encoding of DNA (DNABERT-2), learned and applied by HF ``tokenizers``."""

import os
from itertools import chain
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import BaseTokenizer
from ._hub import pretrained_folder
from ._sequences import normalize_sequences
from ._tokenized import TokenizedSequences

__all__ = ["BPETokenizer"]

# DNABERT-2's order of special tokens; kept so its published tokenizer.json and
# ours share ids 0..4
_SPECIALS = {"unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "mask": "[MASK]"}


class BPETokenizer(BaseTokenizer):
    """Byte-pair encoding learned from DNA sequences, as in DNABERT-2.

    ``fit`` learns merges from the sequences with the HF ``tokenizers`` library
    (upper case, N runs split the sequences, so no merge spans an N), or, when
    ``tokenizer_file`` is given, loads a HF ``tokenizer.json`` as it is, such as
    DNABERT-2's published one. Learned vocabularies start with DNABERT-2's special
    tokens ``[UNK]=0 [CLS]=1 [SEP]=2 [PAD]=3 [MASK]=4``, then ``A C G T`` and the
    merged tokens; a loaded file keeps its own ids and must contain all five special
    tokens. N is ``[UNK]``.

    Parameters
    ----------
    vocab_size : int, default=4096
        Largest vocabulary to learn, special tokens included. Learning stops
        earlier when no pair occurs ``min_frequency`` times.
    min_frequency : int, default=2
        Least number of occurrences of a pair for it to be merged.
    max_token_length : int or None, default=None
        Longest token to learn, in bases; None for no limit.
    tokenizer_file : str or path-like or None, default=None
        A HF ``tokenizer.json`` to load in ``fit`` instead of learning.
    pretrained : str or path-like or None, default=None
        A pretrained model's folder or Hugging Face hub id (e.g.
        ``"zhihan1996/DNABERT-2-117M"``) whose ``tokenizer.json`` to load in ``fit``,
        the vocabulary that model reads. A hub id is downloaded once (needs
        ``pip install "dnatok[hub]"``).
    max_length : int or None, default=None
        Width of the ids output in tokens, [CLS] and [SEP] included. None pads to
        the longest sequence of the call.
    truncation : bool, default=True
        Cut sequences that do not fit ``max_length`` (keeping [SEP]); if False,
        such a sequence raises a ValueError.
    add_special_tokens : bool, default=True
        Put [CLS] first and [SEP] after the last token of each sequence.
    output : {"ids", "counts"}, default="ids"
        Padded ids and attention mask, or a sparse bag-of-tokens matrix.
    handle_unknown : {"error", "unk"}, default="error"
        Characters outside ACGTN raise an error naming the sequences, or are
        treated like N.

    Attributes
    ----------
    tokenizer_ : tokenizers.Tokenizer
        The learned or loaded HF tokenizer.

    Notes
    -----
    Decoding is lossless for ACGT sequences (upper case; [UNK] decodes to N).

    Examples
    --------
    >>> from dnatok import BPETokenizer
    >>> sequences = ["ACGTACGTAC", "ACGTTTACGT", "TTTTACGTAC"] * 5
    >>> tokenizer = BPETokenizer(vocab_size=14).fit(sequences)
    >>> tokenizer.tokenize("ACGTTTTT")
    ['ACGT', 'TT', 'TT']
    >>> tokenizer.inverse_transform(tokenizer.transform(["ACGTTTTT"]))
    ['ACGTTTTT']
    """

    _parameter_constraints = {
        **BaseTokenizer._parameter_constraints,
        "vocab_size": [Interval(Integral, 9, None, closed="left")],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "max_token_length": [Interval(Integral, 1, None, closed="left"), None],
        "tokenizer_file": [str, os.PathLike, None],
        "pretrained": [str, os.PathLike, None],
    }
    _requires_fit = True

    def __init__(
        self,
        vocab_size=4096,
        *,
        min_frequency=2,
        max_token_length=None,
        tokenizer_file=None,
        pretrained=None,
        max_length=None,
        truncation=True,
        add_special_tokens=True,
        output="ids",
        handle_unknown="error",
    ):
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.max_token_length = max_token_length
        self.tokenizer_file = tokenizer_file
        self.pretrained = pretrained
        self.max_length = max_length
        self.truncation = truncation
        self.add_special_tokens = add_special_tokens
        self.output = output
        self.handle_unknown = handle_unknown

    def _fit(self, sequences):
        if self.tokenizer_file is not None and self.pretrained is not None:
            raise ValueError(
                "Give tokenizer_file (a tokenizer.json) or pretrained (a model folder or hub "
                "id), not both."
            )
        if self.pretrained is not None:
            tokenizer_file = pretrained_folder(self.pretrained, weights=False) / "tokenizer.json"
            if not tokenizer_file.is_file():
                raise FileNotFoundError(
                    f"{self.pretrained!r} has no tokenizer.json; BPETokenizer(pretrained=...) "
                    f"loads a model's HF tokenizer from it."
                )
            tokenizer = _load(tokenizer_file)
        elif self.tokenizer_file is not None:
            tokenizer = _load(self.tokenizer_file)
        else:
            tokenizer = self._learn(normalize_sequences(sequences, self.handle_unknown))
        self.special_token_ids_ = {
            name: tokenizer.token_to_id(token) for name, token in _SPECIALS.items()
        }
        self.tokenizer_ = tokenizer
        self._padder = None  # built from tokenizer_ on first transform
        self.vocab_fingerprint_ = _fingerprint(tokenizer)
        self.n_sequences_fit_ = len(sequences)

    def _learn(self, sequences):
        from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

        tokenizer = Tokenizer(models.BPE(unk_token=_SPECIALS["unk"]))
        # each N is a word of its own: merges never span an N, and N encodes as [UNK]
        tokenizer.pre_tokenizer = pre_tokenizers.Split("N", behavior="isolated")
        specials = list(_SPECIALS.values())
        trainer = trainers.BpeTrainer(
            vocab_size=self.vocab_size,
            min_frequency=self.min_frequency,
            special_tokens=specials,
            initial_alphabet=list("ACGT"),
            limit_alphabet=4,
            max_token_length=self.max_token_length,
            show_progress=False,
        )
        tokenizer.train_from_iterator(sequences, trainer, length=len(sequences))
        # so that the saved tokenizer.json adds [CLS]/[SEP] in HF transformers too
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[(t, tokenizer.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
        )
        return tokenizer

    def _encode_flat(self, sequences):
        encodings = self.tokenizer_.encode_batch_fast(
            normalize_sequences(sequences, self.handle_unknown), add_special_tokens=False
        )
        id_lists = [encoding.ids for encoding in encodings]
        n_tokens = np.fromiter(map(len, id_lists), np.int64, len(id_lists))
        ids = np.fromiter(chain.from_iterable(id_lists), np.int32, int(n_tokens.sum()))
        return ids, n_tokens

    def _encode_padded(self, sequences):
        # HF pads, truncates and adds [CLS]/[SEP] in Rust; only the final list of
        # equal-length id lists crosses into numpy, as with tokenizers used directly
        if self.max_length is not None and self.add_special_tokens and self.max_length < 2:
            self._layout(np.zeros(0, dtype=np.int64))  # raises the shared message
        tokenizer = self._padding_tokenizer()
        encodings = tokenizer.encode_batch_fast(
            normalize_sequences(sequences, self.handle_unknown),
            add_special_tokens=self.add_special_tokens,
        )
        input_ids = np.array([encoding.ids for encoding in encodings], dtype=np.int32)
        input_ids = input_ids.reshape(len(encodings), -1)  # also when all are empty
        attention_mask = input_ids != self.special_token_ids_["pad"]
        if self.max_length is not None and not self.truncation:
            n_special = 2 if self.add_special_tokens else 0
            self._layout(attention_mask.sum(axis=1) - n_special)  # raises if too long
            padding = self.max_length - input_ids.shape[1]
            input_ids = np.pad(input_ids, ((0, 0), (0, padding)), constant_values=self.special_token_ids_["pad"])
            attention_mask = np.pad(attention_mask, ((0, 0), (0, padding)))
        return TokenizedSequences(input_ids, attention_mask, tokenizer=self)

    def _padding_tokenizer(self):
        """A copy of ``tokenizer_`` set up to pad, truncate and add [CLS]/[SEP].

        A copy, so that the fitted tokenizer (and the file it saves) stays as
        learned or loaded; our own template, so that a loaded file without a
        post-processor gets [CLS]/[SEP] too. Kept between calls, as a user of HF
        tokenizers keeps theirs: a fresh copy starts with a cold BPE word cache.
        """
        from tokenizers import Tokenizer, processors

        settings = (self.max_length, self.truncation)
        cached = getattr(self, "_padder", None)
        if cached is not None and cached[0] == settings:
            return cached[1]

        tokenizer = Tokenizer.from_str(self.tokenizer_.to_str())
        cls, sep = self.special_token_ids_["cls"], self.special_token_ids_["sep"]
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )
        pad = self.special_token_ids_["pad"]
        tokenizer.no_truncation()  # a loaded file may carry its own settings
        if self.max_length is not None and self.truncation:
            tokenizer.enable_truncation(self.max_length)
            tokenizer.enable_padding(pad_id=pad, pad_token="[PAD]", length=self.max_length)
        else:
            tokenizer.enable_padding(pad_id=pad, pad_token="[PAD]")
        self._padder = (settings, tokenizer)
        return tokenizer

    def save(self, path):
        """Write the fitted tokenizer as a HF ``tokenizer.json`` file.

        Parameters
        ----------
        path : str or path-like
            File to write; ``BPETokenizer(tokenizer_file=path)`` loads it back.
        """
        self._check_ready()
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        self.tokenizer_.save(str(partial))
        os.replace(partial, path)

    # -- vocabulary --------------------------------------------------------------

    def get_special_token_ids(self):
        """Ids of the special tokens, as a dict with keys pad, unk, cls, sep, mask."""
        self._check_ready()
        return dict(self.special_token_ids_)

    def get_vocab_size(self):
        """Number of tokens in the fitted vocabulary."""
        self._check_ready()
        return self.tokenizer_.get_vocab_size(with_added_tokens=True)

    def get_vocab(self):
        """Mapping from token to id."""
        self._check_ready()
        return self.tokenizer_.get_vocab(with_added_tokens=True)

    def get_vocab_fingerprint(self):
        """A short hash that changes whenever the id -> token mapping changes."""
        self._check_ready()
        return self.vocab_fingerprint_

    def convert_ids_to_tokens(self, ids):
        """Tokens of a sequence of ids."""
        self._check_ready()
        id_to_token = self.tokenizer_.id_to_token
        return [id_to_token(i) for i in self._checked_ids(ids).tolist()]

    def _decode_tokens(self, tokens):
        return "".join("N" if t == _SPECIALS["unk"] else t for t in tokens)


def _load(path):
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception on bad files
        raise ValueError(
            f"Could not read {path} as a HF tokenizer.json file: {error}"
        ) from error
    missing = [t for t in _SPECIALS.values() if tokenizer.token_to_id(t) is None]
    if missing:
        raise ValueError(
            f"The tokenizer in {path} lacks the special token(s) {', '.join(missing)}; "
            f"dnatok needs [PAD], [UNK], [CLS], [SEP] and [MASK] in the vocabulary."
        )
    return tokenizer


def _fingerprint(tokenizer):
    import hashlib

    vocab = sorted(tokenizer.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    text = "\n".join(token for token, _ in vocab)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
