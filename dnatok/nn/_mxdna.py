"""MxDNA: the model learns its own DNA tokenization (MXDNA.md, NeurIPS 2024).

Layout of this module, following the data through the model:

* :class:`ConvolutionExpert`, one per unit length (4d).
* :func:`modulated_deformable_conv1d` and :class:`DeformableAssembly` (4f).
* :func:`load_balancing_loss` (section 5).
* :class:`LearntTokenization`, the whole section 4: router, selection (in
  ``_mxdna_selection``), sparse mixture of experts, token mask, assembly.
* :func:`compact_tokens`, which gathers the selected tokens to the front.
* :class:`MxDNAEncoder`, :class:`MxDNAMaskedLM`, :class:`MxDNAClassificationModel`
  and :func:`mxdna_loss`.

Everything is pure PyTorch and runs on the input's device. The only host reads are
shape-deciding integers: rounds of the selection loop, the number of nucleotides
each expert receives, and the longest token sequence of the batch.
"""

import math
import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._block import TransformerBlock
from ._encoder import init_weights
from ._heads import ClassificationHead, MaskedLMHead, pool
from ._mxdna_selection import select_basic_units
from ._stem import ConvolutionStem

__all__ = [
    "ConvolutionExpert",
    "DeformableAssembly",
    "LearntTokenization",
    "MxDNAClassificationModel",
    "MxDNAEncoder",
    "MxDNAEncoderOutput",
    "MxDNAMaskedLM",
    "TokenizationOutput",
    "closest_divisor",
    "compact_tokens",
    "init_mxdna_weights",
    "load_balancing_loss",
    "modulated_deformable_conv1d",
    "mxdna_loss",
]


def closest_divisor(number, target):
    """The divisor of ``number`` closest to ``target``, with the official code's tie rule.

    MxDNA's expert of kernel ``k`` uses ``closest_divisor(d_model, k)`` groups. Divisors
    are met in the order 1, N, 2, N/2, 3, N/3, ... and a tie keeps the first met (so
    ``closest_divisor(16, 6)`` is 8, met before 4), as the authors' ``find_closest_factor``
    does; the released checkpoint's convolution shapes depend on it.

    Examples
    --------
    >>> [closest_divisor(512, k) for k in range(1, 11)]
    [1, 2, 2, 4, 4, 4, 8, 8, 8, 8]
    >>> closest_divisor(16, 6), closest_divisor(12, 5)
    (8, 6)
    """
    best = None
    for small in range(1, math.isqrt(number) + 1):
        if number % small:
            continue
        for divisor in (small, number // small):
            if best is None or abs(divisor - target) < abs(best - target):
                best = divisor
    return best


def init_mxdna_weights(module):
    """MxDNA's initialisation: :func:`init_weights` (trunc-normal, std 0.02), and the
    deformable assembly's offset and modulation convolutions at zero.

    Use with ``model.apply``, which visits children before their parent, so the
    assembly's own reset comes after the generic one.
    """
    init_weights(module)
    if isinstance(module, DeformableAssembly):
        module.reset_parameters()


class ConvolutionExpert(nn.Module):
    """One expert of the sparse mixture: turns each unit of ``k`` nucleotides into one vector.

    Linear(d, 2d) -> GLU -> Conv1d(d, d, kernel k, stride k, groups g) -> LayerNorm ->
    SiLU -> Linear(d, d), no biases, with ``g = closest_divisor(d, k)``.

    Parameters
    ----------
    d_model : int
        Width.
    kernel_size : int
        Unit length ``k``.
    norm_eps : float, default=1e-6
        Epsilon of the LayerNorm.

    Examples
    --------
    >>> expert = ConvolutionExpert(d_model=8, kernel_size=3)
    >>> expert(torch.randn(2 * 3, 8)).shape  # two units of three nucleotides
    torch.Size([2, 8])
    """

    def __init__(self, d_model, kernel_size, norm_eps=1e-6):
        super().__init__()
        self.kernel_size = kernel_size
        self.expand = nn.Linear(d_model, 2 * d_model, bias=False)
        self.conv = nn.Conv1d(
            d_model, d_model, kernel_size, stride=kernel_size,
            groups=closest_divisor(d_model, kernel_size), bias=False,
        )
        self.norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.project = nn.Linear(d_model, d_model, bias=False)

    def forward(self, unit_nucleotides):
        """(N * k, d) nucleotides of N whole units, unit after unit -> (N, d)."""
        h = F.glu(self.expand(unit_nucleotides), dim=-1)  # (N*k, d)
        h = self._unit_convolution(h)  # (N, d)
        return self.project(F.silu(self.norm(h)))  # (N, d)

    def _unit_convolution(self, h):
        """``self.conv`` over units laid end to end, each ``k`` long: (N*k, d) -> (N, d).

        Kernel = stride = k reads every unit exactly once and never straddles two, so
        the convolution is one matrix product per group over the unit's flattened
        (position, channel) values: a batched matmul, several times cheaper on CPU
        than a grouped strided ``conv1d`` at these sizes. Same weights, same values.
        """
        k, groups = self.kernel_size, self.conv.groups
        n_nucleotides, d = h.shape
        width = d // groups  # channels per group, in and out
        units = h.view(n_nucleotides // k, k, groups, width).permute(2, 0, 1, 3)  # (g, N, k, c)
        units = units.reshape(groups, -1, k * width)  # (g, N, k*c), [(t, c_in)]
        # conv weight (d_out, c_in, k) -> per group [(t, c_in), c_out]
        weight = self.conv.weight.view(groups, width, width, k).permute(0, 3, 2, 1).reshape(groups, k * width, width)
        out = torch.bmm(units, weight.to(units.dtype))  # (g, N, c_out)
        return out.transpose(0, 1).reshape(-1, d)  # (N, d), channel = group * c + c_out


def modulated_deformable_conv1d(signal, offsets, modulation, weight, positions=None):
    """1-D modulated deformable convolution (stride 1, padding ``f // 2``), pure PyTorch.

    ``out[i] = sum_t weight[:, :, t] @ (modulation[t, i] * signal(i - f//2 + t + offsets[t, i]))``
    where ``signal(x)`` interpolates linearly between the two nearest positions and is
    zero outside ``0 .. l-1``. With zero offsets and unit modulation this is
    ``conv1d(signal, weight, padding=f // 2)``.

    Parameters
    ----------
    signal : Tensor (B, l, d_in)
    offsets, modulation : Tensor (B, f, l), or (B, f, T) with ``positions``
        Per-tap, per-output shift (in positions) and multiplier.
    weight : Tensor (d_out, d_in, f)
    positions : LongTensor (B, T), optional
        Compute the output only at these positions of the signal; None: at every
        position. MxDNA reads the assembly only at its tokens, about one position
        in five, so this saves most of the work.

    Returns
    -------
    Tensor (B, l, d_out), or (B, T, d_out) at ``positions``

    Examples
    --------
    >>> signal, weight = torch.randn(1, 5, 4), torch.randn(4, 4, 3)
    >>> zeros, ones = torch.zeros(1, 3, 5), torch.ones(1, 3, 5)
    >>> plain = F.conv1d(signal.transpose(1, 2), weight, padding=1).transpose(1, 2)
    >>> torch.allclose(modulated_deformable_conv1d(signal, zeros, ones, weight), plain, atol=1e-5)
    True
    """
    B, length, d_in = signal.shape
    d_out, _, f = weight.shape
    device = signal.device
    if positions is None:
        positions = torch.arange(length, device=device).expand(B, length)  # (B, l)
    n_out = positions.shape[1]  # T outputs per row (l without positions)
    taps = torch.arange(f, device=device, dtype=torch.float32) - f // 2  # (f,)
    # float32 positions even under autocast: bf16 cannot count past 256
    sample_at = positions[..., None].float() + taps + offsets.float().transpose(1, 2)  # (B, T, f)
    left = sample_at.floor()
    right_share = sample_at - left  # (B, T, f), carries the gradient to the offsets
    left = left.long()
    modulation = modulation.transpose(1, 2)  # (B, T, f)
    flat = signal.reshape(B * length, d_in)  # (B*l, d_in)
    row_start = (torch.arange(B, device=device) * length)[:, None, None]  # (B, 1, 1)

    def sample(index, share):
        inside = (index >= 0) & (index < length)  # zero outside the sequence
        rows = (index.clamp(0, length - 1) + row_start).reshape(-1)  # (B*T*f,)
        values = flat.index_select(0, rows).view(B, n_out, f, d_in)  # (B, T, f, d_in)
        scale = (share * modulation * inside).to(values.dtype)  # (B, T, f)
        return values * scale[..., None]

    sampled = sample(left, 1 - right_share) + sample(left + 1, right_share)  # (B, T, f, d_in)
    # all taps in one matrix product: (B*T, f*d_in) @ (f*d_in, d_out)
    taps_weight = weight.permute(2, 1, 0).reshape(f * d_in, d_out).to(sampled.dtype)  # [(t, i), o]
    return (sampled.reshape(B * n_out, f * d_in) @ taps_weight).view(B, n_out, d_out)


class DeformableAssembly(nn.Module):
    """Assembles the tokens: ``x + DeformConv(LN(x))`` on the nucleotide grid (4f).

    Offsets and modulation (``2 * sigmoid``) come from two convolutions of the
    normalised states, both zero at initialisation; the convolution samples only the
    token positions that are not special (everything else reads as zero).

    Parameters
    ----------
    d_model : int
        Width.
    kernel_size : int, default=3
        Taps ``f`` of the deformable convolution.
    norm_eps : float, default=1e-5
        Epsilon of the LayerNorm.
    official_padding : bool, default=False
        Reproduce the authors' code at padded positions: there the offset and
        modulation convolutions read ``LN(0)`` (the norm's bias), so a padded
        sequence's last position ([SEP]) depends on the padding after it, and through
        attention every token of that sequence does (by about 2e-2 on the reference
        fixture). False (dnatok's default) reads zeros there, as beyond the end of an
        unpadded sequence: a sequence's outputs do not depend on its batch. Both
        agree on unpadded sequences; the tests use True to compare padded batches.
    """

    def __init__(self, d_model, kernel_size=3, norm_eps=1e-5, official_padding=False):
        super().__init__()
        self.official_padding = official_padding
        self.norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.offset = nn.Conv1d(d_model, kernel_size, kernel_size, padding=kernel_size // 2)
        self.modulation = nn.Conv1d(d_model, kernel_size, kernel_size, padding=kernel_size // 2)
        self.weight = nn.Parameter(torch.empty(d_model, d_model, kernel_size))  # (d_out, d_in, f)
        self.reset_parameters()

    def reset_parameters(self):
        """Offsets 0 and modulation 1 at the start; trunc-normal convolution weight."""
        for conv in (self.offset, self.modulation):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        nn.init.trunc_normal_(self.weight, std=0.02, a=-0.04, b=0.04)

    def forward(self, x, attention_mask, sampled_mask, positions=None):
        """x (B, l, d), attention_mask (B, l), sampled_mask (B, l) bool -> (B, l, d).

        ``sampled_mask`` marks the positions the convolution may read (token centres,
        not [CLS]/[SEP]). With ``positions`` (B, T), the output is computed only at
        those grid positions: (B, T, d), the same values as gathering the full output.
        """
        z = self.norm(x)  # (B, l, d)
        real = attention_mask.bool()[..., None]  # (B, l, 1)
        if self.official_padding:  # the official states are 0 at padding: LN(0) = bias
            visible = torch.where(real, z, self.norm.bias.to(z.dtype))
        else:
            # zero beyond the sequence, as the convolutions' own padding would be: this
            # keeps the offsets at the last nucleotides independent of the padding after
            visible = z * real.to(z.dtype)
        visible = visible.transpose(1, 2)  # (B, d, l)
        offsets = self.offset(visible)  # (B, f, l)
        modulation = 2 * torch.sigmoid(self.modulation(visible))  # (B, f, l)
        signal = z * sampled_mask[..., None].to(z.dtype)  # (B, l, d)
        if positions is not None:
            taps_index = positions[:, None].expand(-1, offsets.shape[1], -1)  # (B, f, T)
            offsets, modulation = offsets.gather(2, taps_index), modulation.gather(2, taps_index)  # (B, f, T)
            x = x.gather(1, positions[..., None].expand(-1, -1, x.shape[-1]))  # (B, T, d)
        return x + modulated_deformable_conv1d(signal, offsets, modulation, self.weight, positions)


def load_balancing_loss(probabilities, unit_expert):
    """``n * sum_j f_j * P_j`` over the selected unit centres of the whole batch.

    ``f_j`` is the fraction of centres given to expert ``j`` and ``P_j`` the mean router
    probability of ``j`` over those centres; 1 when the experts are balanced.

    Parameters
    ----------
    probabilities : Tensor (B, l, n)
        Router softmax.
    unit_expert : LongTensor (B, l)
        Expert of the unit centred at each position, -1 elsewhere.

    Returns
    -------
    Tensor, scalar (0 when there is no unit at all).

    Examples
    --------
    >>> probabilities = torch.full((1, 4, 2), 0.5)
    >>> load_balancing_loss(probabilities, torch.tensor([[0, 1, -1, 1]]))
    tensor(1.)
    """
    n = probabilities.shape[-1]
    probabilities = probabilities.float()
    is_centre = (unit_expert >= 0).float()  # (B, l)
    n_centres = is_centre.sum().clamp(min=1.0)
    assigned = F.one_hot(unit_expert.clamp(min=0), n).float() * is_centre[..., None]  # (B, l, n)
    fraction = assigned.sum((0, 1)) / n_centres  # (n,)
    mean_probability = (probabilities * is_centre[..., None]).sum((0, 1)) / n_centres  # (n,)
    return n * (fraction * mean_probability).sum()


def compact_tokens(token_mask):
    """Where the tokens of each sequence are, gathered to the front.

    Parameters
    ----------
    token_mask : bool Tensor (B, l)

    Returns
    -------
    token_index : LongTensor (B, T)
        Grid position of each token, in order; 0 in the padding slots.
        ``T`` is the largest number of tokens in the batch.
    token_present : bool Tensor (B, T)
        True for real tokens.

    Examples
    --------
    >>> index, present = compact_tokens(torch.tensor([[True, False, True], [False, True, False]]))
    >>> index.tolist(), present.tolist()
    ([[0, 2], [1, 0]], [[True, True], [True, False]])
    """
    B, length = token_mask.shape
    counts = token_mask.sum(1)  # (B,)
    n_slots = int(counts.max()) if B and length else 0  # the one host read: the output width
    positions = torch.arange(length, device=token_mask.device)  # (l,)
    # tokens keep their position as key, the rest sort after them; keys are distinct
    keys = torch.where(token_mask, positions, positions + length)  # (B, l)
    token_index = keys.sort(dim=1).values[:, :n_slots]  # (B, T)
    token_present = torch.arange(n_slots, device=token_mask.device) < counts[:, None]  # (B, T)
    return token_index * token_present, token_present


class TokenizationOutput(NamedTuple):
    """What :class:`LearntTokenization` returns: new states, tokens, loss and statistics.

    Attributes
    ----------
    hidden : Tensor (B, l, d), or (B, T, d) when gathered
        ``x''``, the nucleotide grid after the experts and the assembly; called with
        ``gather_tokens=True``, only its token positions (``token_positions``, the
        padding slots holding position 0's state).
    token_mask : bool Tensor (B, l)
        Token positions on the grid: unit centres, [CLS] and [SEP].
    token_positions : LongTensor (B, T)
        Grid position (unit centre; [CLS] 0, [SEP] its index) of each token, tokens
        gathered to the front; 0 in padding slots.
    token_present : bool Tensor (B, T)
        True for real tokens in ``token_positions``.
    aux_loss : Tensor, scalar
        Load-balancing loss.
    router_logits : Tensor (B, l, n)
        Scores ``S`` (jittered in training).
    unit_expert : LongTensor (B, l)
        Expert of the unit centred at each position, -1 elsewhere.
    unit_length : LongTensor (B, l)
        Length of the unit covering each position, 0 outside the nucleotides.
    unit_centre : LongTensor (B, l)
        Centre of the unit covering each position, -1 outside the nucleotides.
    n_units : LongTensor (B,)
        Units per sequence (tokens minus [CLS] and [SEP]).
    """

    hidden: torch.Tensor
    token_mask: torch.Tensor
    token_positions: torch.Tensor
    token_present: torch.Tensor
    aux_loss: torch.Tensor
    router_logits: torch.Tensor
    unit_expert: torch.Tensor
    unit_length: torch.Tensor
    unit_centre: torch.Tensor
    n_units: torch.Tensor


class LearntTokenization(nn.Module):
    """MxDNA's learnt tokenization (section 4): nucleotides in, tokens out.

    LayerNorm; router scores (input jittered in training); exact greedy selection of
    non-overlapping units on the detached scores; a sparse mixture of convolution
    experts writing one vector per unit at its centre, scaled by the router
    probability (times ``expert_gain``); a token mask; and the deformable assembly.

    Parameters
    ----------
    d_model : int
        Width.
    n_experts : int, default=10
        Experts; expert ``j`` reads units of ``j + 1`` nucleotides.
    deformable_kernel_size : int, default=3
        Taps of the deformable assembly.
    jitter : float, default=0.01
        Training-time multiplicative noise ``U[1 - jitter, 1 + jitter]`` on the router input.
    expert_gain : float, default=1.0
        Each unit's vector is ``expert_gain * p * expert(unit)``, with ``p`` the router
        probability of the unit's expert at its centre; 1.0 is the paper's (see
        :class:`MxDNAEncoder`).
    norm_eps : float, default=1e-5
        Epsilon of the module's LayerNorms.
    expert_norm_eps : float, default=1e-6
        Epsilon of the experts' LayerNorms.

    Examples
    --------
    >>> tokenization = LearntTokenization(d_model=8, n_experts=3).eval()
    >>> ids = torch.tensor([[2, 5, 6, 7, 8, 3]])
    >>> out = tokenization(torch.randn(1, 6, 8), ids > 0, (ids == 2) | (ids == 3))
    >>> out.hidden.shape, out.token_mask[0, [0, 5]].tolist()  # [CLS] and [SEP] are tokens
    (torch.Size([1, 6, 8]), [True, True])
    >>> (out.unit_length[0] > 0).tolist()  # units cover exactly the nucleotides
    [False, True, True, True, True, False]
    """

    def __init__(
        self, d_model, n_experts=10, deformable_kernel_size=3, jitter=0.01, expert_gain=1.0, norm_eps=1e-5,
        expert_norm_eps=1e-6,
    ):
        super().__init__()
        if not expert_gain > 0:
            raise ValueError(f"expert_gain must be a number above 0 (1.0 is the paper's mixture), got {expert_gain!r}.")
        self.n_experts = n_experts
        self.jitter = jitter
        self.expert_gain = float(expert_gain)
        self.norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.router = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList(
            ConvolutionExpert(d_model, k, norm_eps=expert_norm_eps) for k in range(1, n_experts + 1)
        )
        self.assembly = DeformableAssembly(d_model, deformable_kernel_size, norm_eps=norm_eps)
        self.apply(init_mxdna_weights)

    def route(self, h, special_tokens_mask):
        """Router scores (B, l, n), in float32, from normalised states (B, l, d)."""
        if self.training and self.jitter > 0:
            h = h * torch.empty_like(h).uniform_(1.0 - self.jitter, 1.0 + self.jitter)
        h = h * (~special_tokens_mask)[..., None].to(h.dtype)  # (B, l, d)
        # float32 even under autocast: half-precision scores would tie often and decide
        # the units on rounding (the router is a tiny d x n product)
        with torch.autocast(h.device.type, enabled=False):
            return F.linear(h.float(), self.router.weight.float())  # (B, l, n)

    def mix_experts(self, h, covering_expert, probabilities):
        """The sparse mixture: one vector per unit, at the unit's centre, zero elsewhere.

        Parameters
        ----------
        h : Tensor (B, l, d)
            Normalised nucleotide states.
        covering_expert : LongTensor (B, l)
            Expert of the unit covering each position (-1: none).
        probabilities : Tensor (B, l, n)
            Router softmax; each unit's vector is scaled by its centre's probability
            for its expert (the router's gradient path), times ``expert_gain``.

        Returns
        -------
        Tensor (B, l, d)
        """
        B, length, d = h.shape
        n = self.n_experts
        expert_key = torch.where(covering_expert >= 0, covering_expert, n).reshape(-1)  # (B*l,)
        # positions grouped by expert, in (batch, position) order inside a group: each
        # expert receives its units whole and in order, k nucleotides after k nucleotides
        order = torch.sort(expert_key, stable=True).indices  # (B*l,)
        sizes = torch.bincount(expert_key, minlength=n + 1)[:n]  # (n,) nucleotides per expert
        size_list = sizes.tolist()  # one host read
        rows = order[: sum(size_list)]  # (covered,) every covered nucleotide, expert after expert
        # one gather for all experts (its backward is one scatter, not one per expert)
        nucleotides = h.reshape(B * length, d).index_select(0, rows)  # (covered, d)
        centres, vectors = [], []
        for j, (expert, unit_rows, unit_nucleotides) in enumerate(
            zip(self.experts, rows.split(size_list), nucleotides.split(size_list))
        ):
            if size_list[j] == 0:
                continue
            k = j + 1
            centres.append(unit_rows.view(-1, k)[:, k // 2])  # (N,): a unit starts at centre - k//2
            vectors.append(expert(unit_nucleotides))  # (N, d)
        if not vectors:
            return torch.zeros_like(h)
        centres = torch.cat(centres)  # (units,)
        vectors = torch.cat(vectors)  # (units, d)
        unit_counts = sizes // torch.arange(1, n + 1, device=sizes.device)  # (n,)
        unit_expert = torch.repeat_interleave(
            torch.arange(n, device=sizes.device), unit_counts, output_size=centres.shape[0]
        )  # (units,)
        # each unit's probability of its own expert, at its centre
        probability = probabilities.reshape(-1).index_select(0, centres * n + unit_expert)  # (units,)
        vectors = vectors * (self.expert_gain * probability)[:, None].to(vectors.dtype)
        mixed = vectors.new_zeros(B * length, d).index_copy(0, centres, vectors)  # (B*l, d)
        return mixed.view(B, length, d)

    def forward(self, x, attention_mask, special_tokens_mask, gather_tokens=False):
        """Tokenize nucleotide states.

        Parameters
        ----------
        x : Tensor (B, l, d)
            Output of the nucleotide layers.
        attention_mask : Tensor (B, l)
            True (or 1) on real positions, [CLS] and [SEP] included.
        special_tokens_mask : Tensor (B, l)
            True on [CLS] and [SEP].
        gather_tokens : bool, default=False
            Return in ``hidden`` only the token states, (B, T, d) at
            ``token_positions``, and compute the assembly only there.

        Returns
        -------
        TokenizationOutput
        """
        attention_mask = attention_mask.bool()
        special = special_tokens_mask.bool() & attention_mask
        eligible = attention_mask & ~special  # (B, l): the nucleotides units may cover

        h = self.norm(x)  # (B, l, d)
        scores = self.route(h, special)  # (B, l, n)
        units = select_basic_units(scores.detach(), eligible)
        probabilities = scores.float().softmax(-1)  # (B, l, n)

        x = x + self.mix_experts(h, units.covering_expert, probabilities).to(x.dtype)  # (B, l, d)
        is_centre = units.unit_expert >= 0  # (B, l)
        token_mask = (is_centre | special) & attention_mask  # (B, l)
        token_positions, token_present = compact_tokens(token_mask)  # (B, T)
        x = self.assembly(x, attention_mask, is_centre, token_positions if gather_tokens else None)  # (B, T|l, d)
        return TokenizationOutput(
            hidden=x,
            token_mask=token_mask,
            token_positions=token_positions,
            token_present=token_present,
            aux_loss=load_balancing_loss(probabilities, units.unit_expert),
            router_logits=scores,
            unit_expert=units.unit_expert,
            unit_length=units.covering_expert + 1,
            unit_centre=units.covering_centre,
            n_units=units.n_units,
        )


class MxDNAEncoderOutput(NamedTuple):
    """What :class:`MxDNAEncoder` returns.

    Attributes
    ----------
    token_states : Tensor (B, T, d)
        Final token hidden states (after the final LayerNorm). ``T`` is the largest
        token count of the batch when compacted, else the grid length ``l``.
    token_positions : LongTensor (B, T)
        Rotary position (unit centre) of each token.
    token_mask : bool Tensor (B, T)
        True on real tokens.
    nucleotide_states : Tensor (B, l, d)
        Output of the nucleotide layers (the MLM decoder's queries).
    aux_loss : Tensor, scalar
        Load-balancing loss.
    tokenization : TokenizationOutput
        Everything the learnt tokenization decided (unit lengths, experts, ...).
    """

    token_states: torch.Tensor
    token_positions: torch.Tensor
    token_mask: torch.Tensor
    nucleotide_states: torch.Tensor
    aux_loss: torch.Tensor
    tokenization: TokenizationOutput


def _check_sizes(**sizes):
    """Refuse a size that is not an int at or above its minimum, naming the argument."""
    for name, (value, minimum) in sizes.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(f"MxDNAEncoder's {name} must be an int of at least {minimum}, got {value!r}.")


class MxDNAEncoder(nn.Module):
    """Nucleotide ids -> learnt tokens -> token hidden states (MXDNA.md section 3).

    Embedding, nucleotide layers at full resolution, :class:`LearntTokenization`,
    token layers that attend among the tokens only (each at its unit centre's rotary
    position), final LayerNorm.

    Parameters
    ----------
    vocab_size : int, default=9
        Single-nucleotide vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK] A T C G).
    d_model : int, default=128
        Width (paper: 512).
    n_heads : int, default=4
        Attention heads (paper: 16).
    d_ff : int or None, default=None
        Feed-forward width; None means ``4 * d_model`` (paper: 2048).
    n_nucleotide_layers : int, default=1
        Blocks before the tokenization (paper: 4).
    n_token_layers : int, default=4
        Blocks after it (paper: 16).
    n_experts : int, default=10
        Convolution experts, unit lengths ``1 .. n_experts``.
    deformable_kernel_size : int, default=3
        Taps of the deformable assembly.
    jitter : float, default=0.01
        Router input noise in training.
    expert_gain : float, default=1.0
        Factor on the experts' router-weighted output (1.0: the paper's mixture).
        With 1.0 an undecided router (``p = 1 / n_experts``) passes a tenth of the
        experts' output and gradient; ``expert_gain=n_experts`` passes all of it.
        In small models trained for minutes that made the experts learn (gradient
        norm 4-8x), but did not make better classifiers (benchmarks/RESULTS.md).
    dropout : float, default=0.0
        Dropout on the embeddings and on every residual branch (MxDNA uses none).
    max_length : int or None, default=None
        Longest input, in nucleotides with [CLS] and [SEP], that the model accepts;
        None accepts any (rotary positions need no table).
    pad_token_id, cls_token_id, sep_token_id : int, default=0, 2, 3
        Special ids; [CLS] and [SEP] make the special-tokens mask when none is given.
    rotary_theta : float, default=10000.0
        Base of the rotary frequencies.
    conv_kernel_size : int, default=9
        Width of a :class:`ConvolutionStem` on the embeddings, before the nucleotide
        layers (odd); 0 for none, the paper's architecture. dnatok's default keeps
        it: without it the small CPU-sized model did not learn motifs (see
        benchmarks/RESULTS.md).
    compact : bool, default=True
        Run the token layers on the gathered tokens only, (B, T) with ``T`` about
        ``l / 2.5``, instead of on the whole grid with non-tokens masked out as
        keys. Same result, a fraction of the work.

    Examples
    --------
    >>> encoder = MxDNAEncoder(d_model=16, n_heads=2, n_token_layers=1, n_experts=4).eval()
    >>> ids = torch.tensor([[2, 5, 6, 7, 8, 5, 3]])
    >>> out = encoder(ids, ids > 0)
    >>> out.token_states.shape[0], out.token_states.shape[2], out.nucleotide_states.shape
    (1, 16, torch.Size([1, 7, 16]))
    >>> out.token_positions[0, 0].item(), out.token_positions[0, out.token_mask[0].sum() - 1].item()
    (0, 6)
    """

    def __init__(
        self,
        vocab_size=9,
        d_model=128,
        n_heads=4,
        d_ff=None,
        n_nucleotide_layers=1,
        n_token_layers=4,
        n_experts=10,
        deformable_kernel_size=3,
        jitter=0.01,
        expert_gain=1.0,
        dropout=0.0,
        max_length=None,
        pad_token_id=0,
        cls_token_id=2,
        sep_token_id=3,
        rotary_theta=10000.0,
        conv_kernel_size=9,
        compact=True,
    ):
        super().__init__()
        _check_sizes(d_model=(d_model, 2), n_heads=(n_heads, 1), n_nucleotide_layers=(n_nucleotide_layers, 0),
                     n_token_layers=(n_token_layers, 0), n_experts=(n_experts, 1))
        if d_model % n_heads:
            raise ValueError(f"MxDNAEncoder's d_model ({d_model}) must be a multiple of n_heads ({n_heads}).")
        #: every argument that shapes the weights or the outputs (``compact`` does not):
        #: ``MxDNAEncoder(**encoder.config)`` rebuilds it, and so do the models
        self.config = dict(
            vocab_size=vocab_size, d_model=d_model, n_heads=n_heads, d_ff=d_ff,
            n_nucleotide_layers=n_nucleotide_layers, n_token_layers=n_token_layers, n_experts=n_experts,
            deformable_kernel_size=deformable_kernel_size, jitter=jitter, expert_gain=expert_gain, dropout=dropout,
            max_length=max_length, pad_token_id=pad_token_id, cls_token_id=cls_token_id,
            sep_token_id=sep_token_id, rotary_theta=rotary_theta, conv_kernel_size=conv_kernel_size,
        )
        self.max_length = max_length
        self.cls_token_id = cls_token_id
        self.sep_token_id = sep_token_id
        self.compact = compact
        #: sizes of every transformer block, the heads' decoder block included
        self.block_config = dict(
            d_model=d_model, n_heads=n_heads, d_ff=d_ff or 4 * d_model, dropout=dropout, rotary_theta=rotary_theta
        )

        def blocks(n_layers):
            return nn.ModuleList(TransformerBlock(**self.block_config) for _ in range(n_layers))

        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_token_id)
        self.dropout = nn.Dropout(dropout)
        self.stem = ConvolutionStem(d_model, conv_kernel_size) if conv_kernel_size else None
        self.nucleotide_layers = blocks(n_nucleotide_layers)
        self.tokenization = LearntTokenization(d_model, n_experts, deformable_kernel_size, jitter, expert_gain)
        self.token_layers = blocks(n_token_layers)
        self.norm = nn.LayerNorm(d_model)
        self.apply(init_mxdna_weights)

    def special_tokens_mask(self, input_ids):
        """[CLS] or [SEP] positions, (B, l) bool."""
        return (input_ids == self.cls_token_id) | (input_ids == self.sep_token_id)

    def _nucleotide_states(self, input_ids, attention_mask, special_tokens_mask):
        """Embedding and nucleotide layers: (states (B, l, d), mask, special mask, positions)."""
        B, length = input_ids.shape
        if self.max_length is not None and length > self.max_length:
            raise ValueError(
                f"Got inputs of {length} tokens, more than the model's max_length={self.max_length}."
            )
        attention_mask = attention_mask.bool()
        if special_tokens_mask is None:
            special_tokens_mask = self.special_tokens_mask(input_ids)
        grid_positions = torch.arange(length, device=input_ids.device).expand(B, length)  # (B, l)
        x = self.dropout(self.embedding(input_ids.long()))  # (B, l, d)
        if self.stem is not None:
            x = self.stem(x, attention_mask)  # (B, l, d)
        for block in self.nucleotide_layers:
            x = block(x, grid_positions, attention_mask)
        return x, attention_mask, special_tokens_mask, grid_positions

    def tokenize(self, input_ids, attention_mask, special_tokens_mask=None):
        """Run only as far as the learnt tokenization: which units the model chooses.

        Same arguments as :meth:`forward`; returns the :class:`TokenizationOutput`
        (``unit_expert``, ``unit_length``, ``unit_centre``, ``n_units``, ...) without
        running the token layers.
        """
        x, attention_mask, special, _ = self._nucleotide_states(input_ids, attention_mask, special_tokens_mask)
        return self.tokenization(x, attention_mask, special)

    def forward(self, input_ids, attention_mask, special_tokens_mask=None):
        """Encode ``[CLS] x1 .. xL [SEP] [PAD]..`` rows.

        Parameters
        ----------
        input_ids : LongTensor (B, l)
        attention_mask : Tensor (B, l)
            True (or 1) on real positions.
        special_tokens_mask : Tensor (B, l), optional
            True on [CLS] and [SEP]; derived from the ids when None.

        Returns
        -------
        MxDNAEncoderOutput
        """
        x, attention_mask, special, grid_positions = self._nucleotide_states(
            input_ids, attention_mask, special_tokens_mask
        )
        nucleotide_states = x
        tokens = self.tokenization(x, attention_mask, special, gather_tokens=self.compact)
        x = tokens.hidden  # (B, T, d) compact, else the grid (B, l, d)
        if self.compact:
            positions, mask = tokens.token_positions, tokens.token_present  # (B, T)
        else:
            positions, mask = grid_positions, tokens.token_mask  # (B, l)
        for block in self.token_layers:
            x = block(x, positions, mask)
        return MxDNAEncoderOutput(self.norm(x), positions, mask, nucleotide_states, tokens.aux_loss, tokens)


class MxDNAMaskedLM(nn.Module):
    """MxDNA for masked language modelling at single-nucleotide resolution.

    :class:`MxDNAEncoder`, then a decoder block whose queries are the nucleotide-layer
    states (positions ``0 .. l-1``) and whose keys and values are the token states
    (at their unit centres), a LayerNorm and a :class:`MaskedLMHead`.

    Parameters
    ----------
    **encoder_kwargs
        Parameters of :class:`MxDNAEncoder` (``d_model``, ``n_token_layers``, ...).

    Examples
    --------
    >>> model = MxDNAMaskedLM(d_model=16, n_heads=2, n_token_layers=1, n_experts=4)
    >>> ids = torch.tensor([[2, 5, 6, 7, 8, 3, 0]])
    >>> logits, aux_loss = model(ids, ids > 0)
    >>> logits.shape, aux_loss.shape
    (torch.Size([1, 7, 9]), torch.Size([]))
    """

    def __init__(self, **encoder_kwargs):
        super().__init__()
        self.encoder = MxDNAEncoder(**encoder_kwargs)
        #: the encoder's full configuration, saved beside pretrained weights
        self.encoder_config = self.encoder.config
        d_model = self.encoder.block_config["d_model"]
        self.decoder = TransformerBlock(**self.encoder.block_config)
        self.norm = nn.LayerNorm(d_model)
        self.head = MaskedLMHead(d_model, self.encoder.embedding.num_embeddings)
        self.apply(init_mxdna_weights)

    def forward(self, input_ids, attention_mask, special_tokens_mask=None):
        """(B, l) ids -> ``(logits (B, l, vocab), aux_loss scalar)``."""
        out = self.encoder(input_ids, attention_mask, special_tokens_mask)
        B, length = input_ids.shape
        positions = torch.arange(length, device=input_ids.device).expand(B, length)  # (B, l)
        decoded = self.decoder(
            out.nucleotide_states, positions, out.token_mask, out.token_states, out.token_positions
        )  # (B, l, d)
        return self.head(self.norm(decoded)), out.aux_loss


class MxDNAClassificationModel(nn.Module):
    """MxDNA for sequence classification: ``forward`` gives (B, n_classes) logits.

    ``pooling="mean"`` (dnatok's default): the mean of the token states (real tokens,
    [CLS] and [SEP] included), then a LayerNorm and a :class:`ClassificationHead`.
    ``pooling="decoder"`` (the authors' default, and the head of their released
    fine-tuned classifiers): a decoder block whose only query is the [CLS] token
    state, attending over the token states and the nucleotide-layer states together.
    ``pooling="cls_direct"``: the head reads ``LN(token states)[CLS]``.
    Why the mean by default: both [CLS] poolings first have to learn to move the
    sequence into the [CLS] state (at initialisation attention adds almost nothing
    to it), so the loss sits at ln 2 for the first hundred or more steps; the mean
    reads every token from the first step, and it skips the decoder's pass over
    every nucleotide (``benchmarks/RESULTS.md``, "Why MxDNA starts in a plateau" and
    "MxDNA's step against the char transformer's").

    ``forward`` returns ``(logits, aux_loss)``, the load-balancing loss beside the
    output (skorch's idiom for extra losses: the estimator's ``get_loss`` adds it).

    Parameters
    ----------
    n_classes : int, default=2
        Outputs.
    pooling : {"mean", "decoder", "cls_direct"}, default="mean"
        How one vector per sequence is made.
    classifier_dropout : float, default=0.1
        Dropout inside the classification head.
    **encoder_kwargs
        Parameters of :class:`MxDNAEncoder`.

    Examples
    --------
    >>> model = MxDNAClassificationModel(n_classes=3, d_model=16, n_heads=2, n_token_layers=1, n_experts=4)
    >>> ids = torch.tensor([[2, 5, 6, 7, 8, 3, 0]])
    >>> logits, aux_loss = model(ids, ids > 0)
    >>> logits.shape, aux_loss.shape
    (torch.Size([1, 3]), torch.Size([]))
    """

    def __init__(self, n_classes=2, pooling="mean", classifier_dropout=0.1, **encoder_kwargs):
        super().__init__()
        if pooling not in ("decoder", "cls_direct", "mean"):
            raise ValueError(f"pooling must be 'decoder', 'cls_direct' or 'mean', got {pooling!r}.")
        self.pooling = pooling
        self.encoder = MxDNAEncoder(**encoder_kwargs)
        #: the encoder's full configuration, saved beside pretrained weights
        self.encoder_config = self.encoder.config
        d_model = self.encoder.block_config["d_model"]
        if pooling == "decoder":
            self.decoder = TransformerBlock(**self.encoder.block_config)
        self.norm = nn.LayerNorm(d_model)
        self.head = ClassificationHead(d_model, n_classes, classifier_dropout)
        self.apply(init_mxdna_weights)

    def embed(self, input_ids, attention_mask, special_tokens_mask=None):
        """One vector per sequence, (B, d), before the head's LayerNorm."""
        return self._pool(input_ids, attention_mask, special_tokens_mask)[0]

    def _pool(self, input_ids, attention_mask, special_tokens_mask):
        """(pooled (B, d), aux_loss)."""
        out = self.encoder(input_ids, attention_mask, special_tokens_mask)
        cls_state = out.token_states[:, :1]  # (B, 1, d): [CLS] is always the first token
        if self.pooling == "mean":
            return pool(out.token_states, out.token_mask, "mean"), out.aux_loss
        if self.pooling == "cls_direct":
            return cls_state[:, 0], out.aux_loss
        B, length = input_ids.shape
        grid_positions = torch.arange(length, device=input_ids.device).expand(B, length)  # (B, l)
        memory = torch.cat((out.token_states, out.nucleotide_states), 1)  # (B, T + l, d)
        memory_positions = torch.cat((out.token_positions, grid_positions), 1)  # (B, T + l)
        memory_mask = torch.cat((out.token_mask, attention_mask.bool()), 1)  # (B, T + l)
        query_position = torch.zeros(B, 1, dtype=torch.long, device=input_ids.device)  # [CLS] sits at 0
        pooled = self.decoder(cls_state, query_position, memory_mask, memory, memory_positions)[:, 0]
        return pooled, out.aux_loss

    def forward(self, input_ids, attention_mask, special_tokens_mask=None):
        """(B, l) ids -> ``(logits (B, n_classes), aux_loss scalar)``."""
        pooled, aux_loss = self._pool(input_ids, attention_mask, special_tokens_mask)
        return self.head(self.norm(pooled)), aux_loss


def mxdna_loss(logits, labels, aux_loss, aux_weight=0.01, ignore_index=-100):
    """MxDNA's training loss: cross-entropy + ``aux_weight`` * load balancing.

    Parameters
    ----------
    logits : Tensor (B, l, V) or (B, C)
    labels : LongTensor (B, l) or (B,)
        Targets; ``ignore_index`` marks positions without a target (unmasked
        nucleotides, padding).
    aux_loss : Tensor, scalar
    aux_weight : float, default=0.01

    Returns
    -------
    Tensor, scalar

    Examples
    --------
    >>> logits = torch.zeros(1, 2, 9)
    >>> round(mxdna_loss(logits, torch.tensor([[5, -100]]), torch.tensor(1.0)).item(), 4)
    2.2072
    """
    cross_entropy = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=ignore_index
    )
    return cross_entropy + aux_weight * aux_loss
