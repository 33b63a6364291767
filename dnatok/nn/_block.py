"""The pre-LayerNorm transformer block used everywhere (MXDNA.md section 2)."""

import torch.nn.functional as F
from torch import nn

from ._attention import MultiHeadAttention

__all__ = ["SwiGLU", "TransformerBlock"]


class SwiGLU(nn.Module):
    """Gated feed-forward network without biases: ``W2(SiLU(W1 x) * W3 x)``."""

    def __init__(self, d_model, d_ff):
        super().__init__()
        self.gate = nn.Linear(d_model, d_ff, bias=False)  # W1
        self.up = nn.Linear(d_model, d_ff, bias=False)  # W3
        self.down = nn.Linear(d_ff, d_model, bias=False)  # W2

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class TransformerBlock(nn.Module):
    """``x + Attn(LN(x))``, then ``x + FFN(LN(x))``; rotary attention, SwiGLU FFN.

    With ``memory`` the attention is cross-attention, and the same first LayerNorm
    normalises both the queries and the memory (MxDNA's decoder).

    Parameters
    ----------
    d_model : int
        Width.
    n_heads : int
        Attention heads.
    d_ff : int
        Hidden width of the feed-forward network.
    dropout : float, default=0.0
        Dropout on each residual branch.
    norm_eps : float, default=1e-5
        LayerNorm epsilon.
    rotary_theta : float, default=10000.0
        Base of the rotary frequencies.
    """

    def __init__(self, d_model, n_heads, d_ff, dropout=0.0, norm_eps=1e-5, rotary_theta=10000.0):
        super().__init__()
        self.attention_norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.attention = MultiHeadAttention(d_model, n_heads, rotary_theta)
        self.ffn_norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.ffn = SwiGLU(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, positions, key_mask, memory=None, memory_positions=None):
        """Shapes: x (B, Lq, d), positions (B, Lq), key_mask (B, Lk) -> (B, Lq, d)."""
        h = self.attention_norm(x)
        if memory is not None:
            memory = self.attention_norm(memory)
        x = x + self.dropout(self.attention(h, positions, key_mask, memory, memory_positions))
        return x + self.dropout(self.ffn(self.ffn_norm(x)))
