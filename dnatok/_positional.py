"""Tokenizers whose tokens are fixed-length windows of the sequence.

A k-mer (or a single base) token is fully determined by where it starts, so its id
can be computed at every position of the concatenated base buffer at once, before
any per-sequence layout. The layout then only picks positions: for a run of
sequences of equal length (fixed-length reads, genome windows, benchmark tasks) the
ids of the whole run are a strided view of that array, copied straight into the
output block, with no index arrays at all.
"""

import numpy as np

from ._base import BaseTokenizer
from ._sequences import encode_bases
from ._tokenized import TokenizedSequences

__all__ = ["PositionalTokenizer", "sliding_kmer_codes"]

# below this mean number of sequences per run of equal lengths, the generic flat
# scatter is faster than one block copy per run
_MIN_MEAN_RUN = 8


class PositionalTokenizer(BaseTokenizer):
    """Base of tokenizers whose token at position p depends on bases p .. p+k-1.

    Subclasses set ``_window`` (k) and ``_step`` (stride) and define
    ``_token_values(codes) -> (values, offset, unknown)``: the id of the token that
    starts at buffer position p is ``values[p] + offset``, or [UNK] where
    ``unknown[p]`` (``unknown`` is None when no token is unknown). Values near the
    end of a sequence are never read. Keeping the offset apart lets it be added
    while copying into the output, in the copy's single pass.
    """

    def _token_counts(self, lengths):
        k, step = self._window, self._step
        return np.where(lengths >= k, (lengths - k) // step + 1, 0)

    def _encode_flat(self, sequences):
        return self._flat_ids(*encode_bases(sequences, self.handle_unknown))

    def _flat_ids(self, codes, offsets):
        n_tokens = self._token_counts(np.diff(offsets))
        first_token = np.cumsum(n_tokens) - n_tokens
        starts = np.repeat(offsets[:-1] - first_token * self._step, n_tokens)
        starts += np.arange(int(n_tokens.sum())) * self._step
        values, offset, unknown = self._token_values(codes)
        ids = values[starts].astype(np.int32)
        ids += offset
        if unknown is not None:
            ids[unknown[starts]] = self.get_special_token_ids()["unk"]
        return ids, n_tokens

    def _encode_padded(self, sequences):
        codes, offsets = encode_bases(sequences, self.handle_unknown)
        lengths = np.diff(offsets)
        n = len(lengths)
        run_starts = np.flatnonzero(np.diff(lengths, prepend=-1))
        if n < _MIN_MEAN_RUN * len(run_starts):
            return self._to_padded(*self._flat_ids(codes, offsets))

        kept, width = self._layout(self._token_counts(lengths))
        values, offset, unknown = self._token_values(codes)
        specials = self.get_special_token_ids()
        first = 1 if self.add_special_tokens else 0
        input_ids = np.empty((n, width), dtype=np.int32)
        attention_mask = np.empty((n, width), dtype=bool)
        for start, stop in zip(run_starts.tolist(), run_starts[1:].tolist() + [n]):
            length, n_kept = int(lengths[start]), int(kept[start])
            rows, bases = slice(start, stop), slice(offsets[start], offsets[stop])
            picked = np.s_[:, : n_kept * self._step : self._step]
            end = first + n_kept
            tokens = input_ids[rows, first:end]
            block = values[bases].reshape(stop - start, length)[picked]
            np.add(block, offset, out=tokens, dtype=np.int32, casting="unsafe")
            if unknown is not None:
                tokens[unknown[bases].reshape(stop - start, length)[picked]] = specials["unk"]
            if first:
                input_ids[rows, 0] = specials["cls"]
                input_ids[rows, end] = specials["sep"]
                end += 1
            input_ids[rows, end:] = specials["pad"]
            attention_mask[rows, :end] = True
            attention_mask[rows, end:] = False
        return TokenizedSequences(input_ids, attention_mask, tokenizer=self)


def sliding_kmer_codes(codes, k):
    """Base-4 value of the k-mer starting at every position of a code buffer.

    Built by doubling (the value of a 2m-mer from two m-mers), so it takes about
    log2(k) passes, each in the smallest integer type that holds its values. Codes
    4 (N) count as 0; the caller marks such k-mers. Positions within k - 1 of the
    end hold values of a shorter k-mer, to keep the output as long as the input.

    Parameters
    ----------
    codes : ndarray of uint8
        Base codes, A C G T = 0 1 2 3.
    k : int
        1 to 15.

    Returns
    -------
    values : ndarray of uint8, uint16 or uint32, shape (len(codes),)

    Examples
    --------
    >>> sliding_kmer_codes(np.array([0, 1, 2, 3], dtype=np.uint8), 2).tolist()
    [1, 6, 11, 12]
    """
    result, result_length = None, 0
    power, power_length = codes & 3, 1
    while True:
        if k & 1:
            if result is None:
                result, result_length = power, power_length
            else:
                result = _append(result, result_length, power, power_length)
                result_length += power_length
        k >>= 1
        if not k:
            return result
        power = _append(power, power_length, power, power_length)
        power_length *= 2


def _append(left, left_length, right, right_length):
    """Values of (left_length + right_length)-mers: left then right shifted along."""
    total = left_length + right_length
    dtype = np.uint8 if total <= 4 else np.uint16 if total <= 8 else np.uint32
    out = np.left_shift(left, 2 * right_length, dtype=dtype)
    # right's window starts left_length bases later; nothing to add past the end
    out[: max(len(out) - left_length, 0)] |= right[left_length:]
    return out
