"""MxDNA's basic-unit selection (MXDNA.md 4c), exact and vectorised over the batch.

The rule
--------
Expert ``j`` proposes units of ``k = j + 1`` nucleotides. A unit centred at ``p``
spans ``[p - floor(k/2), p + floor(k/2) + (k mod 2))``. That half-open interval has
``2 floor(k/2) + (k mod 2) = k`` positions for every ``k`` (even k: ``2 (k/2) + 0``;
odd k: ``2 (k-1)/2 + 1``), so the formula as written is already exact: k=1 covers
``p``, k=2 covers ``p-1..p``, k=3 covers ``p-1..p+1``, k=4 covers ``p-2..p+1``, and so
on. Relative to the centre, a unit reaches ``floor(k/2)`` positions to the left and
``floor((k-1)/2)`` to the right, so the span of expert ``j`` at ``p`` contains the span
of every smaller expert at ``p``: each expert adds exactly one new offset to the
previous one, in the order ``0, -1, +1, -2, +2, ...``.

The authors' greedy pass visits every (position, expert) candidate in descending
score order and accepts a candidate when its span lies inside the eligible range
(between [CLS] and [SEP]) and none of its positions is covered yet. ("Skip p if it is
already covered" is implied: p lies in its own span.)

Ties in score are broken by :func:`tie_break_key` of the candidate index
``position * n + expert``: a fixed scrambling of the indices, so the order is
deterministic and the same whatever the padding or the batch. The authors' C++ sort
is not stable, so their tie order is unspecified anyway. A scrambled order rather
than "lower position first" because ties broken by position line tied candidates up
in long chains (each one waiting for its left neighbour), which the parallel
algorithm below would resolve one or two units per round: a sequence of equal
scores took 255 rounds at l=512 with positional ties, 5 with scrambled ones.

The parallel algorithm
----------------------
Give every candidate its rank in that total order. Call two candidates neighbours
when their spans intersect. The greedy accepts a candidate iff no higher-ranked
neighbour was accepted (invalid candidates, whose span leaves the range, are
rejected outright and cover nothing, so they never matter). That is the greedy
maximal independent set of the conflict graph in a fixed priority order, and it is
computed exactly, in rounds, by the "local maxima" algorithm:

    alive = all valid candidates
    repeat until no candidate is alive:
        accept every alive candidate ranked above all of its alive neighbours
        kill the accepted ones and every candidate that overlaps one of them

Proof that this equals the greedy, by induction on the rounds. Invariant: every
candidate killed so far was either accepted by the greedy (if we accepted it) or
rejected by it (if it overlaps one we accepted); and no alive candidate overlaps an
accepted one. Take an alive candidate ``c`` that is a local maximum among the alive
candidates. Each higher-ranked neighbour of ``c`` is dead, and not accepted
(otherwise ``c``, its neighbour, would have been killed), so by the invariant the
greedy rejected it. Hence, at ``c``'s turn the greedy has accepted no neighbour of
``c`` and accepts ``c`` too. Candidates that overlap ``c`` are rejected by the greedy
because its accepted set never overlaps. The invariant holds again. Each round
accepts at least the top-ranked alive candidate of each sequence that has one, so
the loop ends after at most ``l`` rounds. Each extra round needs a longer chain of
overlapping candidates ranked in order, so in practice it takes 5 to 7 rounds at
l=512, n=10 (random scores, tied scores, an untrained router on random DNA, poly-A
or (AT)n). The worst case is scores that rise steadily along the whole sequence:
then about 330 rounds at l=512.

Vectorisation
-------------
One round needs two window reductions over (B, n, l) candidates; the nested spans
make both a loop of ``n`` shifted elementwise maxima on (B, l) slices of one padded
tensor (views, no gathers):

* cover: for each position ``q``, the highest rank among alive candidates whose
  span covers ``q``. Candidate ``(j, p)`` covers ``q`` iff ``q = p + d_t`` for an
  offset ``d_t`` with ``t <= j``; so with ``S[t] = max over experts j >= t`` (a
  running max from the longest expert down), it is ``max_t S[t, q - d_t]``.
* span: for each candidate, the maximum of a per-position quantity over its span:
  a running max over ``t`` of ``Q[p + d_t]``, one output per expert.

A candidate is a local maximum iff its rank equals span(cover) (it covers its own
positions, and every neighbour covers one of them). Covering and killing use the
same two reductions with logical or. Ranks are int64 keys built without sorting
(see ``_ranks``), so nothing ever leaves the device.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = ["BasicUnits", "select_basic_units", "tie_break_key", "unit_extent"]


def unit_extent(kernel_size):
    """Positions a unit of ``kernel_size`` nucleotides reaches left and right of its centre.

    Returns
    -------
    left, right : int
        The unit centred at ``p`` covers ``p - left .. p + right`` (inclusive), that is
        ``[p - floor(k/2), p + floor(k/2) + (k mod 2))``; ``left + right + 1 == k``.

    Examples
    --------
    >>> [unit_extent(k) for k in (1, 2, 3, 4)]
    [(0, 0), (1, 0), (1, 1), (2, 1)]
    """
    return kernel_size // 2, (kernel_size - 1) // 2


class BasicUnits(NamedTuple):
    """The units chosen by :func:`select_basic_units`.

    Attributes
    ----------
    unit_expert : LongTensor (B, l)
        Expert index (unit length minus one) of the unit centred at each position;
        -1 where no unit is centred.
    covering_expert : LongTensor (B, l)
        Expert of the unit covering each position; -1 outside the eligible positions.
    covering_centre : LongTensor (B, l)
        Centre of the unit covering each position; -1 outside the eligible positions.
    n_units : LongTensor (B,)
        Number of units of each sequence.
    n_rounds : int
        Parallel rounds the selection ran (a diagnostic).
    """

    unit_expert: torch.Tensor
    covering_expert: torch.Tensor
    covering_centre: torch.Tensor
    n_units: torch.Tensor
    n_rounds: int


def _expert_offsets(n_experts):
    # the offset that expert t adds to the span of expert t-1: 0, -1, +1, -2, +2, ...
    return [((t + 1) // 2) * (1 if t % 2 == 0 else -1) for t in range(n_experts)]


class _Windows:
    """The two window reductions over nested unit spans, as shifted-slice loops.

    Every shift is a view into one padded tensor, so a reduction costs ``n`` small
    elementwise ops on (B, l) slices: cheaper than a gather or a cumulative max over
    a (B, n, l) tensor, and the same on any device.
    """

    def __init__(self, n_experts):
        self.offsets = _expert_offsets(n_experts)
        self.left, self.right = unit_extent(n_experts)  # the largest unit's reach

    def span_reduce(self, values, fill, combine):
        """(B, l) per-position values -> (B, n, l): ``combine`` over each candidate's span.

        Entry ``[b, j, p]`` reduces ``values[b, p + d_t]`` over ``t <= j``.
        """
        length = values.shape[1]
        padded = F.pad(values, (self.left, self.right), value=fill)  # (B, l + n - 1)
        reduced = [values]
        for offset in self.offsets[1:]:
            start = self.left + offset
            reduced.append(combine(reduced[-1], padded[:, start : start + length]))  # (B, l)
        return torch.stack(reduced, 1)  # (B, n, l)

    def cover_reduce(self, values, fill, combine):
        """(B, n, l) per-candidate values -> (B, l): ``combine`` over the candidates covering each position.

        Candidate ``(j, p)`` covers ``q = p + d_t`` for ``t <= j``, so the result at
        ``q`` reduces, over ``t``, the suffix ``S_t = combine over j >= t`` at ``q - d_t``.
        """
        length = values.shape[2]
        padded = F.pad(values, (self.right, self.left), value=fill)  # (B, n, l + n - 1)
        suffix = padded[:, -1]  # (B, l + n - 1): S_{n-1}
        result = None
        for t in range(len(self.offsets) - 1, -1, -1):
            if t < len(self.offsets) - 1:
                suffix = combine(padded[:, t], suffix)  # S_t
            start = self.right - self.offsets[t]
            shifted = suffix[:, start : start + length]  # (B, l): S_t at q - d_t
            result = shifted if result is None else combine(result, shifted)
        return result


def tie_break_key(index):
    """Scrambled candidate indices that break score ties: a bijection of ``[0, 2**31)``.

    Multiplying by an odd number and xor-ing in the high bits are both invertible
    modulo ``2**31``, so distinct indices keep distinct keys. Works on Python ints
    and on integer tensors alike.

    Examples
    --------
    >>> [tie_break_key(i) for i in range(4)]
    [0, 481112722, 296507729, 79994064]
    """
    mask = (1 << 31) - 1
    key = (index * 0x2545F491) & mask
    key = key ^ (key >> 15)
    return (key * 0x5851F42D) & mask


def _ranks(scores):
    """A strict total order of the candidates of each sequence, as int64 keys.

    Higher is earlier: higher score first, then higher :func:`tie_break_key`. No sort
    is needed: a float32's bit pattern, read as an integer and with the magnitude
    bits of negative numbers flipped, orders like the float, and the tie-break key
    fills the low 31 bits. (B, l, n) scores -> (B, n, l) keys. NaN is unsupported.
    """
    B, l, n = scores.shape
    values = scores.detach().float() + 0.0  # + 0.0 turns -0.0 into 0.0: they tie
    bits = values.view(torch.int32)  # (B, l, n)
    ordered = torch.where(bits < 0, bits ^ 0x7FFFFFFF, bits).to(torch.int64)  # same order as values
    index = torch.arange(l * n, device=scores.device).view(l, n)  # p * n + j, < 2**31
    keys = ordered * (1 << 31) + tie_break_key(index)  # (B, l, n), within +-2**62
    return keys.transpose(1, 2).contiguous()  # (B, n, l)


def select_basic_units(scores, eligible, check_every=None):
    """Choose MxDNA's basic units: the authors' greedy pass, run in parallel rounds.

    Exactly equal to visiting the (position, expert) candidates of each sequence in
    descending score order (ties: descending :func:`tie_break_key` of the index
    ``position * n + expert``) and accepting a candidate when its span is eligible
    and still uncovered. Runs on the scores' device with no per-sequence loop and no
    copy to the host (the loop over rounds reads one boolean every ``check_every``
    rounds to know when to stop).

    Parameters
    ----------
    scores : Tensor (B, l, n)
        Router scores; expert ``j`` proposes units of ``j + 1`` nucleotides. Detached
        here: the selection is not differentiable.
    eligible : bool Tensor (B, l)
        Positions units may cover (real nucleotides between [CLS] and [SEP]). A unit
        is allowed only if all its positions are eligible.
    check_every : int, optional
        Rounds between two checks for completion; extra rounds after completion
        change nothing. Defaults to 1 on the CPU and 8 elsewhere, where each check
        is a device synchronisation (typical inputs finish within 8 rounds).

    Returns
    -------
    BasicUnits
        Per-position expert of the centred unit, covering unit's expert and centre,
        units per sequence, and the number of rounds. Because the length-1 expert
        exists, the units tile the eligible positions exactly once.

    Examples
    --------
    Two experts (lengths 1 and 2) over ``[CLS] x x x [SEP]``:

    >>> scores = torch.tensor([[[0., 0.], [1., 5.], [4., 0.], [0., 3.], [0., 0.]]])
    >>> eligible = torch.tensor([[False, True, True, True, False]])
    >>> units = select_basic_units(scores, eligible)
    >>> units.unit_expert.tolist(), units.covering_centre.tolist()
    ([[-1, 0, 0, 0, -1]], [[-1, 1, 2, 3, -1]])

    The pair ending at position 1 (score 5) would cover [CLS], so it is skipped; the
    pair ending at position 3 (score 3) overlaps the single at 2 (score 4), accepted
    before it. Singles fill the rest.
    """
    B, l, n = scores.shape
    device = scores.device
    eligible = eligible.bool()
    windows = _Windows(n)
    ranks = _ranks(scores)  # (B, n, l)
    none = torch.iinfo(torch.int64).min  # below every key

    # a candidate is valid when every position of its span is eligible
    alive = windows.span_reduce(eligible, False, torch.logical_and)  # (B, n, l)
    selected = torch.zeros_like(alive)  # (B, n, l)
    if check_every is None:
        check_every = 1 if device.type == "cpu" else 8

    n_rounds = 0
    # each round accepts at least one unit of every unfinished sequence: <= l rounds
    while n_rounds < l:
        n_rounds += 1
        alive_ranks = torch.where(alive, ranks, none)  # (B, n, l)
        best_covering = windows.cover_reduce(alive_ranks, none, torch.maximum)  # (B, l)
        best_overlapping = windows.span_reduce(best_covering, none, torch.maximum)  # (B, n, l)
        accepted = alive & (alive_ranks == best_overlapping)  # (B, n, l)
        selected |= accepted
        newly_covered = windows.cover_reduce(accepted, False, torch.logical_or)  # (B, l)
        alive &= ~windows.span_reduce(newly_covered, False, torch.logical_or)
        if n_rounds % check_every == 0 and not bool(alive.any()):
            break

    # which unit covers each position: encode (centre, expert) and spread it over the span
    positions = torch.arange(l, device=device)  # (l,)
    codes = positions[None, None, :] * n + torch.arange(n, device=device)[None, :, None]  # (1, n, l)
    codes = torch.where(selected, codes, torch.full_like(codes, -1))  # (B, n, l)
    covering = windows.cover_reduce(codes, -1, torch.maximum)  # (B, l): the one unit covering q, or -1
    is_covered = covering >= 0
    covering_centre = torch.where(is_covered, covering.div(n, rounding_mode="floor"), covering)  # (B, l)
    covering_expert = torch.where(is_covered, covering.remainder(n), covering)  # (B, l)
    is_centre = covering_centre == positions  # (B, l)
    unit_expert = torch.where(is_centre, covering_expert, -1)  # (B, l)
    return BasicUnits(unit_expert, covering_expert, covering_centre, is_centre.sum(1), n_rounds)
