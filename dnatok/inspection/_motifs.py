"""Motifs from importance scores: seqlets, seeded alignment, position weight matrices."""

import numpy as np
from sklearn.utils import Bunch

from .._sequences import BASES, check_sequences, encode_bases, sequence_lengths

__all__ = ["find_motifs"]

_N = 4  # code of N (and of positions past a sequence's end)


def find_motifs(X, importance, *, window=10, flank=2, seed_length=6, max_patterns=5,
                seqlets_per_sequence=1, min_seqlets=5, threshold=4.0, min_information=0.5):
    """Recurring motifs in the most important stretches of the sequences.

    A small, dependency-free take on TF-MoDISco's idea:

    1. **Seqlets.** In each sequence, the ``window``-long stretch of largest
       summed importance (up to ``seqlets_per_sequence`` that do not overlap),
       kept when that sum stands out: more than ``threshold`` robust standard
       deviations (1.4826 x the median absolute deviation) above the median of all
       windows' sums.
    2. **Patterns.** The most frequent ``seed_length``-mer of the seqlets (a k-mer
       and its reverse complement count as one) seeds a pattern; every seqlet
       holding it with at most one mismatch, on either strand, joins it, aligned
       on the seed (reverse-complemented where found on the minus strand). Their
       bases, ``window`` either side of the seed, make a position frequency matrix
       whose columns under ``min_information`` bits are trimmed from both ends.
       The seqlets taken are removed and the next seed is drawn, until
       ``max_patterns`` patterns or fewer than ``min_seqlets`` seqlets are left.

    Parameters
    ----------
    X : list of str
        The sequences the importance was computed on.
    importance : array-like of shape (n_sequences, max_length)
        Importance of each position (positive: supports the prediction), such as
        ``in_silico_mutagenesis(...).importance``; NaN counts as 0.
    window : int, default=10
        Length of a seqlet (about a transcription factor's site).
    flank : int, default=2
        Bases either side of a seqlet searched for the seed too.
    seed_length : int, default=6
    max_patterns : int, default=5
    seqlets_per_sequence : int, default=1
    min_seqlets : int, default=5
        Fewest seqlets that make a pattern.
    threshold : float, default=4.0
        How far above the typical window a seqlet's importance must be.
    min_information : float, default=0.5
        Information content (bits, of 2) under which an edge column is trimmed.

    Returns
    -------
    patterns : list of :class:`~sklearn.utils.Bunch`, most seqlets first
        consensus : str
            The most frequent base of each column.
        pwm : ndarray of shape (length, 4)
            Base frequencies per column (``A C G T``).
        information : ndarray of shape (length,)
            Bits per column.
        n_seqlets : int
        seqlets : ndarray of shape (n_seqlets, 3)
            Sequence index, start of the pattern in it, strand (+1 or -1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def background(n): return "".join(rng.choice(list("ACGT"), n))
    >>> X = [background(10) + "TTTGACA" + background(11) for _ in range(20)]
    >>> importance = np.zeros((20, 28))
    >>> importance[:, 10:17] = 1.0          # TTTGACA is what matters
    >>> [p.consensus for p in find_motifs(X, importance, window=7, flank=2, threshold=1)]
    ['TTTGACA']
    """
    sequences = check_sequences(X)
    lengths = sequence_lengths(sequences)
    importance = np.nan_to_num(np.asarray(importance, dtype=np.float64), nan=0.0)
    if importance.ndim != 2 or importance.shape[0] != len(sequences) or importance.shape[1] < lengths.max(initial=0):
        raise ValueError(
            f"importance must have shape (n_sequences, max_length) = ({len(sequences)}, "
            f"{int(lengths.max(initial=0))}), one score per position; got {importance.shape}."
        )
    for name, value, low in (("window", window, 1), ("flank", flank, 0), ("seed_length", seed_length, 1),
                             ("max_patterns", max_patterns, 1), ("seqlets_per_sequence", seqlets_per_sequence, 1),
                             ("min_seqlets", min_seqlets, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int of at least {low}; got {value!r}.")
    if seed_length > window + 2 * flank:
        raise ValueError(f"seed_length={seed_length} is longer than a seqlet with its flanks ({window + 2 * flank}).")

    grid = _code_grid(sequences, lengths, pad=window + flank)  # (n, pad + L + pad), N outside
    rows, starts = _seqlets(importance, lengths, window, seqlets_per_sequence, threshold)
    pad = window + flank
    # each seqlet with its flanks, and both strands of it: (S, window + 2 flank)
    span = starts[:, None] + pad - flank + np.arange(window + 2 * flank)
    plus = grid[rows[:, None], span]
    patterns, left = [], np.ones(rows.size, dtype=bool)
    while len(patterns) < max_patterns and left.sum() >= min_seqlets:
        seed = _most_frequent_kmer(plus[left], seed_length)
        if seed is None:
            break
        found, offset, strand = _match(plus, seed)
        found &= left
        if found.sum() < min_seqlets:
            left[found] = False
            break
        # aligned on the seed: `window` bases either side, read on the seed's strand
        seed_start = starts[found] - flank + offset[found]  # in the sequence, plus strand
        columns = np.arange(-window, seed_length + window)
        forward = strand[found] > 0
        positions = np.where(forward[:, None], seed_start[:, None] + columns,
                             seed_start[:, None] + seed_length - 1 - columns)
        aligned = grid[rows[found, None], positions + pad]
        aligned = np.where(forward[:, None] | (aligned == _N), aligned, 3 - aligned)  # complement
        patterns.append(_pattern(aligned, positions, rows[found], strand[found], min_information))
        left &= ~found
    patterns = [p for p in patterns if p is not None]
    return sorted(patterns, key=lambda p: -p.n_seqlets)


def _code_grid(sequences, lengths, pad):
    """Base codes as a (n, pad + max_length + pad) array, N (4) outside the sequences."""
    codes, offsets = encode_bases(sequences, handle_unknown="unk", lengths=lengths)
    grid = np.full((len(sequences), int(lengths.max(initial=0)) + 2 * pad), _N, dtype=np.uint8)
    owner = np.repeat(np.arange(len(sequences)), lengths)
    grid[owner, pad + np.arange(codes.size) - offsets[owner]] = codes
    return grid


def _seqlets(importance, lengths, window, per_sequence, threshold):
    """(sequence index, start) of every seqlet: the top windows that stand out."""
    n, width = importance.shape
    if width < window:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cumulative = np.concatenate([np.zeros((n, 1)), np.cumsum(importance, axis=1)], axis=1)
    sums = cumulative[:, window:] - cumulative[:, :-window]  # (n, width - window + 1)
    valid = np.arange(sums.shape[1])[None, :] <= (lengths - window)[:, None]
    typical = sums[valid]
    if typical.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    median = np.median(typical)
    spread = 1.4826 * np.median(np.abs(typical - median)) or np.std(typical) or 1.0
    sums = np.where(valid, sums, -np.inf)
    rows, starts = [], []
    everyone = np.arange(n)
    for _ in range(per_sequence):  # rounds, not sequences
        best = sums.argmax(axis=1)
        keep = sums[everyone, best] > median + threshold * spread
        rows.append(everyone[keep])
        starts.append(best[keep])
        # no overlap with the chosen window in later rounds
        near = np.abs(np.arange(sums.shape[1])[None, :] - best[:, None]) < window
        sums[near] = -np.inf
    return np.concatenate(rows), np.concatenate(starts)


def _kmer_windows(codes, k):
    """(S, P, k) every k-mer of every row."""
    P = codes.shape[1] - k + 1
    return codes[:, np.arange(P)[:, None] + np.arange(k)]


def _most_frequent_kmer(codes, k):
    """The k-mer (codes) held by most rows, a k-mer and its reverse complement as one."""
    kmers = _kmer_windows(codes, k)
    clean = (kmers < 4).all(axis=2)
    weights = 4 ** np.arange(k - 1, -1, -1)
    forward = (kmers * weights).sum(axis=2)
    reverse = ((3 - kmers[:, :, ::-1]) * weights).sum(axis=2)
    canonical = np.where(clean, np.minimum(forward, reverse), -1)
    # count rows, not occurrences: one seqlet votes once per k-mer
    present = np.zeros((codes.shape[0], 4 ** k), dtype=bool)
    row, col = np.nonzero(clean)
    present[row, canonical[row, col]] = True
    counts = present.sum(axis=0)
    if counts.max(initial=0) == 0:
        return None
    best = int(counts.argmax())
    return np.array([(best // 4 ** (k - 1 - i)) % 4 for i in range(k)], dtype=np.uint8)


def _match(codes, seed):
    """Per row: found (<= 1 mismatch on either strand), offset of the best match, strand."""
    kmers = _kmer_windows(codes, seed.size)
    mismatches = np.stack([(kmers != seed).sum(axis=2), (kmers != (3 - seed[::-1])).sum(axis=2)])  # (2, S, P)
    flat = mismatches.transpose(1, 0, 2).reshape(codes.shape[0], -1)
    best = flat.argmin(axis=1)  # the plus strand and the leftmost match win ties
    found = flat[np.arange(codes.shape[0]), best] <= 1
    strand = np.where(best < kmers.shape[1], 1, -1)
    return found, best % kmers.shape[1], strand


def _pattern(aligned, positions, rows, strands, min_information):
    """A trimmed position frequency matrix of aligned seqlets, or None if nothing is left.

    ``positions`` (S, C): the plus-strand position of each aligned column."""
    counts = np.stack([(aligned == base).sum(axis=0) for base in range(4)], axis=1).astype(np.float64)
    frequencies = (counts + 0.25) / (counts.sum(axis=1, keepdims=True) + 1.0)  # a small pseudocount
    information = 2 + (frequencies * np.log2(frequencies)).sum(axis=1)
    informative = np.flatnonzero(information >= min_information)
    if informative.size == 0:
        return None
    first, last = informative[0], informative[-1] + 1
    pwm, information = frequencies[first:last], information[first:last]
    if (strands < 0).sum() > (strands > 0).sum():  # read it as most seqlets have it
        pwm, information, strands = pwm[::-1, ::-1], information[::-1], -strands
    letters = np.array(list(BASES))
    return Bunch(
        consensus="".join(letters[pwm.argmax(axis=1)]),
        pwm=pwm,
        information=information,
        n_seqlets=int(rows.size),
        seqlets=np.stack([rows, positions[:, first:last].min(axis=1), strands], axis=1),
    )
