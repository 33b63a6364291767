"""What every dnatok tokenizer shares: parameters, input guards and output formats.

A tokenizer subclass implements one method, ``_encode_flat``, which turns checked
sequences into the token ids of all sequences back to back (no special tokens, no
truncation) plus the number of tokens of each sequence. This base class builds both
outputs from that with vectorised numpy: padded ids with an attention mask for
neural estimators, or a sparse bag-of-tokens matrix for linear models.
"""

import hashlib
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._sequences import check_sequences, encode_bases
from ._tokenized import TokenizedSequences

__all__ = ["BaseTokenizer", "SPECIAL_TOKENS"]

#: Special tokens of the k-mer and single-nucleotide vocabularies, ids 0..4.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# special tokens that only structure a sequence: never counted as features
_STRUCTURAL = ("pad", "cls", "sep", "mask")


def _counts_output(tokenizer):
    return tokenizer.output == "counts"


class BaseTokenizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Base class of dnatok tokenizers; not meant to be used directly.

    Subclasses define ``_encode_flat``, the vocabulary methods and, when they learn
    from data, ``_fit``.
    """

    _parameter_constraints = {
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "truncation": ["boolean"],
        "add_special_tokens": ["boolean"],
        "output": [StrOptions({"ids", "counts"})],
        "handle_unknown": [StrOptions({"error", "unk"})],
    }
    # whether transform needs fit first (False for fixed vocabularies)
    _requires_fit = False
    #: the model family whose network holds this tokenizer's units (MxDNA's), which
    #: only that family's estimators can read; None for rule-based tokenizers
    network_family = None

    # -- fitting ---------------------------------------------------------------

    def fit(self, X, y=None):
        """Check the parameters and the sequences, and learn the vocabulary if any.

        Parameters
        ----------
        X : iterable of str
            DNA sequences.
        y : None
            Ignored; present for pipeline compatibility.

        Returns
        -------
        self : object
            The fitted tokenizer.
        """
        self._validate_params()
        self._fit(check_sequences(X))
        return self

    def _fit(self, sequences):
        """Learn from checked sequences; fixed vocabularies only check the bases."""
        encode_bases(sequences, self.handle_unknown)
        self.n_sequences_fit_ = len(sequences)

    def fit_transform(self, X, y=None):
        """Fit to X, then transform it; see :meth:`transform`."""
        return self.fit(X, y).transform(X)

    # -- transforming ----------------------------------------------------------

    def transform(self, X):
        """Tokenize sequences.

        Parameters
        ----------
        X : iterable of str
            DNA sequences (list, numpy array or pandas Series; upper or lower case).
            Empty sequences are allowed: they give only [CLS] [SEP], or an empty row
            of counts.

        Returns
        -------
        Xt : TokenizedSequences or scipy.sparse.csr_matrix
            With ``output="ids"``, padded ``input_ids`` (int32) and
            ``attention_mask`` (bool) of shape (n_sequences, width), where width is
            ``max_length`` if set, else the longest tokenized sequence. With
            ``output="counts"``, a (n_sequences, n_features) int64 matrix of token
            counts over each whole sequence (``max_length`` and special tokens do not
            apply); columns are named by :meth:`get_feature_names_out`.
        """
        self._check_ready()
        sequences = check_sequences(X)
        if self.output == "counts":
            return self._to_counts(*self._encode_flat(sequences))
        return self._encode_padded(sequences)

    def tokenize(self, sequence):
        """Split one sequence into its tokens (no special tokens, no truncation).

        Parameters
        ----------
        sequence : str

        Returns
        -------
        tokens : list of str
        """
        self._check_ready()
        if not isinstance(sequence, str):
            raise TypeError(
                f"tokenize takes one sequence as a str, got {type(sequence).__name__}; "
                f"use transform for a collection of sequences."
            )
        ids, _ = self._encode_flat([sequence])
        return self.convert_ids_to_tokens(ids)

    def inverse_transform(self, Xt):
        """Decode the ids output of :meth:`transform` back to sequences.

        Parameters
        ----------
        Xt : TokenizedSequences or array-like of int, shape (n_sequences, width)

        Returns
        -------
        sequences : list of str
            Upper-case sequences; see :meth:`decode` for when this is lossless.
        """
        self._check_ready()
        input_ids = Xt["input_ids"] if isinstance(Xt, dict) else np.asarray(Xt)
        return [self.decode(row) for row in input_ids]

    def decode(self, ids):
        """Decode the token ids of one sequence; special tokens are skipped."""
        self._check_ready()
        specials = self.get_special_token_ids()
        skip = [specials[name] for name in _STRUCTURAL]
        ids = self._checked_ids(ids)
        return self._decode_tokens(self.convert_ids_to_tokens(ids[~np.isin(ids, skip)]))

    def _checked_ids(self, ids):
        """The ids of one sequence as a 1-D int64 array, refusing what is not one."""
        try:
            array = np.asarray(ids)
        except ValueError:  # ragged nesting
            raise ValueError(
                "Expected the token ids of one sequence (1-D), got nested lists of several "
                "lengths. Use inverse_transform for several sequences."
            ) from None
        if array.ndim != 1:
            raise ValueError(
                f"Expected the token ids of one sequence (1-D), got "
                f"{'a single value' if array.ndim == 0 else f'an array of shape {array.shape}'}. "
                + ("Wrap it in a list." if array.ndim == 0 else "Use inverse_transform for several sequences.")
            )
        if array.dtype.kind == "f":  # 5.0 is an id; 0.5 and inf are not
            bad = array[~np.isfinite(array) | (array != np.round(array))]
            if bad.size:
                raise ValueError(f"Token ids must be whole numbers, got {bad[0].item()!r}.")
        elif array.dtype.kind not in "iu" and array.size:
            raise TypeError(f"Token ids must be integers, got {array.dtype} values.")
        n_tokens = self.get_vocab_size()
        outside = array[(array < 0) | (array >= n_tokens)] if array.size else array
        if outside.size:
            raise ValueError(f"Token ids must be in [0, {n_tokens}), got {outside[0].item()!r}.")
        return array.astype(np.int64)

    # -- vocabulary --------------------------------------------------------------

    def get_special_token_ids(self):
        """Ids of the special tokens, as a dict with keys pad, unk, cls, sep, mask."""
        self._check_ready()
        return dict(zip(("pad", "unk", "cls", "sep", "mask"), range(5)))

    def get_vocab_fingerprint(self):
        """A short hash that changes whenever the id -> token mapping changes."""
        self._check_ready()
        return hashlib.sha256(self._vocab_description().encode()).hexdigest()[:16]

    @available_if(_counts_output)
    def get_feature_names_out(self, input_features=None):
        """Token names of the columns of the counts output.

        Every vocabulary token in id order except [PAD], [CLS], [SEP] and [MASK];
        [UNK] is kept, since it counts N and unknown bases. Available when
        ``output="counts"``.

        Parameters
        ----------
        input_features : None
            Ignored; present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        self._check_ready()
        kept = np.setdiff1d(np.arange(self.get_vocab_size()), self._structural_ids())
        return np.asarray(self.convert_ids_to_tokens(kept), dtype=object)

    # -- building the outputs ------------------------------------------------------

    def _check_ready(self):
        if self._requires_fit:
            check_is_fitted(self)
        else:
            self._validate_params()

    def _structural_ids(self):
        specials = self.get_special_token_ids()
        return np.sort([specials[name] for name in _STRUCTURAL])

    def _to_counts(self, ids, n_tokens):
        # column of a token id: its id minus the structural ids below it
        structural = self._structural_ids()
        columns = ids - np.searchsorted(structural, ids)
        indptr = np.zeros(len(n_tokens) + 1, dtype=np.int64)
        np.cumsum(n_tokens, out=indptr[1:])
        n_features = self.get_vocab_size() - len(structural)
        counts = sp.csr_matrix(
            (np.ones(len(ids), dtype=np.int64), columns, indptr),
            shape=(len(n_tokens), n_features),
        )
        counts.sum_duplicates()
        return counts

    def _encode_padded(self, sequences):
        """The ids output; subclasses with a faster layout override this."""
        return self._to_padded(*self._encode_flat(sequences))

    def _layout(self, n_tokens):
        """Tokens kept per sequence and the output width, checking max_length."""
        n_special = 2 if self.add_special_tokens else 0
        if self.max_length is None:
            return n_tokens, int(n_tokens.max(initial=0)) + n_special
        room = self.max_length - n_special
        if room < 0:
            raise ValueError(
                f"max_length={self.max_length} leaves no room for [CLS] and [SEP]; "
                f"use max_length >= 2 or add_special_tokens=False."
            )
        too_long = np.flatnonzero(n_tokens > room)
        if too_long.size and not self.truncation:
            first = too_long[0]
            raise ValueError(
                f"Sequence {first} has {n_tokens[first]} tokens, more than "
                f"max_length={self.max_length} allows ({room} after [CLS] and "
                f"[SEP]); {too_long.size} sequence(s) are too long. Pass "
                f"truncation=True or a larger max_length."
            )
        return np.minimum(n_tokens, room), self.max_length

    def _to_padded(self, ids, n_tokens):
        """Scatter flat ids (sequence after sequence) into padded rows."""
        kept, width = self._layout(n_tokens)
        first = 1 if self.add_special_tokens else 0
        n = len(n_tokens)
        starts = np.cumsum(n_tokens) - n_tokens
        input_ids = np.full((n, width), self.get_special_token_ids()["pad"], dtype=np.int32)
        # destination of token j of row r is r * width + first + j: one flat scatter
        kept_starts = np.cumsum(kept) - kept
        source = np.arange(int(kept.sum())) + np.repeat(starts - kept_starts, kept)
        shift = np.arange(n) * width + first - kept_starts
        input_ids.ravel()[np.arange(source.size) + np.repeat(shift, kept)] = ids[source]
        return self._finish(input_ids, kept)

    def _finish(self, input_ids, kept):
        """Add [CLS]/[SEP] around the kept tokens and build the attention mask."""
        n_special = 0
        if self.add_special_tokens:
            specials = self.get_special_token_ids()
            input_ids[:, 0] = specials["cls"]
            input_ids[np.arange(len(kept)), kept + 1] = specials["sep"]
            n_special = 2
        attention_mask = np.arange(input_ids.shape[1]) < (kept + n_special)[:, None]
        return TokenizedSequences(input_ids, attention_mask, tokenizer=self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = self._requires_fit
        return tags
