"""Tokenizers whose tokens are fixed-length windows of the sequence.

A k-mer (or a single base) token is fully determined by where it starts, so its id
can be computed at every position of the concatenated base buffer at once, before
any per-sequence layout. The layout then only picks positions: for a run of
sequences of equal length (fixed-length reads, genome windows, benchmark tasks) the
ids of the whole run are a strided view of that array, copied straight into the
output block, with no index arrays at all.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._base import BaseTokenizer
from ._sequences import encode_bases, sequence_lengths
from ._tokenized import TokenizedSequences

__all__ = ["PositionalTokenizer", "sliding_kmer_codes"]

# below this mean number of sequences per run of equal lengths, the generic flat
# scatter is faster than one block copy per run
_MIN_MEAN_RUN = 8
# threads for large inputs, each with at least this many bases
_MAX_THREADS = 8
_MIN_CHUNK_BASES = 1 << 20


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
        lengths = sequence_lengths(sequences)
        n = len(lengths)
        run_starts = np.flatnonzero(np.diff(lengths, prepend=-1))
        if n < _MIN_MEAN_RUN * len(run_starts):
            codes, offsets = encode_bases(sequences, self.handle_unknown, lengths)
            return self._to_padded(*self._flat_ids(codes, offsets))

        kept, width = self._layout(self._token_counts(lengths))
        input_ids = np.empty((n, width), dtype=np.int32)
        attention_mask = np.empty((n, width), dtype=bool)
        runs = np.append(run_starts, n)

        def fill(first_row, stop_row):
            # the rows [first_row, stop_row) of the output, from their own bases
            codes, offsets = encode_bases(
                sequences[first_row:stop_row], self.handle_unknown, lengths[first_row:stop_row]
            )
            values, offset, unknown = self._token_values(codes)
            bounds = np.clip(runs, first_row, stop_row)
            for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
                if start < stop:
                    bases = slice(offsets[start - first_row], offsets[stop - first_row])
                    self._fill_block(
                        input_ids[start:stop], attention_mask[start:stop], int(kept[start]),
                        values[bases], offset, None if unknown is None else unknown[bases],
                    )

        chunks = _row_chunks(lengths)
        if len(chunks) == 1:
            fill(*chunks[0])
        else:
            try:
                with ThreadPoolExecutor(len(chunks)) as pool:
                    for done in [pool.submit(fill, *chunk) for chunk in chunks]:
                        done.result()
            except ValueError:
                # a chunk's error names chunk-relative sequences: report on the whole
                encode_bases(sequences, self.handle_unknown, lengths)
                raise
        return TokenizedSequences(input_ids, attention_mask, tokenizer=self)

    def _fill_block(self, input_ids, attention_mask, n_kept, values, offset, unknown):
        """Write a block of equal-length sequences, whose token values are contiguous."""
        n_rows = input_ids.shape[0]
        length = len(values) // n_rows
        specials = self.get_special_token_ids()
        first = 1 if self.add_special_tokens else 0
        end = first + n_kept
        picked = np.s_[:, : n_kept * self._step : self._step]
        tokens = input_ids[:, first:end]
        np.add(values.reshape(n_rows, length)[picked], offset, out=tokens, dtype=np.int32, casting="unsafe")
        if unknown is not None:
            tokens[unknown.reshape(n_rows, length)[picked]] = specials["unk"]
        if first:
            input_ids[:, 0] = specials["cls"]
            input_ids[:, end] = specials["sep"]
            end += 1
        input_ids[:, end:] = specials["pad"]
        attention_mask[:, :end] = True
        attention_mask[:, end:] = False


def _row_chunks(lengths):
    """Split rows into one chunk per thread, of about equal numbers of bases.

    The work is numpy passes that release the GIL, so threads scale it over cores;
    inputs under _MIN_CHUNK_BASES per thread stay on one thread.
    """
    total = int(lengths.sum())
    n_chunks = max(1, min(os.cpu_count() or 1, _MAX_THREADS, total // _MIN_CHUNK_BASES))
    cuts = np.searchsorted(np.cumsum(lengths), np.arange(1, n_chunks) * total / n_chunks)
    bounds = np.unique(np.concatenate(([0], cuts, [len(lengths)])))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def sliding_kmer_codes(codes, k):
    """Base-4 value of the k-mer starting at every position of a code buffer.

    Built by doubling (the value of a 2m-mer from two m-mers), so it takes about
    log2(k) passes, each in the smallest integer type that holds its values. A
    k-mer that contains code 4 (N) gets a meaningless value: the caller marks
    those. Positions within k - 1 of the end hold values of a shorter k-mer, to
    keep the output as long as the input.

    Parameters
    ----------
    codes : ndarray of uint8
        Base codes, A C G T = 0 1 2 3 (and N = 4).
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
    # no masking of N codes: a window without N only ever combines codes 0..3
    power, power_length = codes, 1
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
