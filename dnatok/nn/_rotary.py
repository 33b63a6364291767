"""Rotary position embedding (RoPE) at arbitrary, per-token positions.

Positions are given explicitly rather than assumed to be 0..L-1, because MxDNA's
token layers place each token at the nucleotide index of its unit's centre.
"""

import torch

__all__ = ["rotary_cos_sin", "apply_rotary"]


def rotary_cos_sin(positions, head_dim, theta=10000.0):
    """Cosines and sines of the rotation angles for each position.

    Parameters
    ----------
    positions : Tensor of shape (B, L)
        Position of every token (any real values).
    head_dim : int
        Size of one attention head; must be even.
    theta : float, default=10000.0
        Base of the geometric sequence of frequencies.

    Returns
    -------
    cos, sin : Tensor of shape (B, 1, L, head_dim)
        Ready to broadcast over the heads of a (B, H, L, head_dim) tensor.
    """
    half = head_dim // 2
    frequencies = theta ** (-torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angles = positions.float()[..., None] * frequencies  # (B, L, half)
    angles = torch.cat((angles, angles), dim=-1)[:, None]  # (B, 1, L, head_dim)
    return angles.cos(), angles.sin()


def apply_rotary(x, cos, sin):
    """Rotate query or key vectors ``x`` of shape (B, H, L, head_dim)."""
    first, second = x.chunk(2, dim=-1)
    rotated = torch.cat((-second, first), dim=-1)  # pairs (i, i + head_dim/2)
    return (x * cos + rotated * sin).to(x.dtype)
