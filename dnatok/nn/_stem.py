"""A local convolution over nucleotide (or token) states, before any attention."""

import torch.nn.functional as F
from torch import nn

__all__ = ["ConvolutionStem", "saved_before_stem"]


class ConvolutionStem(nn.Module):
    """``x + GELU(Conv1d(LN(x)))`` along the sequence: every position sees its neighbours.

    Why it is there: at initialisation attention is almost uniform (query and key
    weights of std 0.02), so a transformer over single nucleotides starts with no
    notion of "the bases next to me" and, in the budgets dnatok trains with, never
    learns one: it fits base composition and stops (benchmarks/RESULTS.md, "Why
    single-nucleotide models did not learn"). A convolution gives each position its
    ``kernel_size``-mer context from the first step, as k-mer tokens do.

    Padding positions are zeroed before the convolution, so a sequence's outputs do
    not depend on how much padding its batch has.

    Parameters
    ----------
    d_model : int
        Width.
    kernel_size : int
        Odd number of positions read, centred on each position.
    norm_eps : float, default=1e-5

    Examples
    --------
    >>> import torch
    >>> stem = ConvolutionStem(d_model=8, kernel_size=5)
    >>> stem(torch.randn(2, 7, 8), torch.ones(2, 7, dtype=torch.bool)).shape
    torch.Size([2, 7, 8])
    """

    def __init__(self, d_model, kernel_size, norm_eps=1e-5):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"conv_kernel_size must be an odd number >= 1 (or 0 for no convolution), "
                f"got {kernel_size}."
            )
        self.norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.conv = nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2)

    def forward(self, x, attention_mask):
        """Shapes: x (B, L, d), attention_mask (B, L) bool -> (B, L, d)."""
        h = self.norm(x) * attention_mask[..., None].to(x.dtype)  # (B, L, d), padding zeroed
        return x + F.gelu(self.conv(h.transpose(1, 2)).transpose(1, 2))


def saved_before_stem(encoder_config):
    """An encoder config saved before the stem existed describes a model without one."""
    return {"conv_kernel_size": 0, **encoder_config}
