"""Multi-head attention with rotary positions and a key padding mask."""

import torch.nn.functional as F
from torch import nn

from ._rotary import apply_rotary, rotary_cos_sin

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(nn.Module):
    """Multi-head attention without biases, rotary positions on queries and keys.

    Self-attention by default; pass ``memory`` for cross-attention (queries from
    ``x``, keys and values from ``memory``, each with its own positions). Runs
    through ``scaled_dot_product_attention``, which picks a fused kernel where the
    device has one.

    Parameters
    ----------
    d_model : int
        Width of the inputs and output.
    n_heads : int
        Number of heads; must divide ``d_model`` into an even head size.
    rotary_theta : float, default=10000.0
        Base of the rotary frequencies.
    """

    def __init__(self, d_model, n_heads, rotary_theta=10000.0):
        super().__init__()
        if d_model % n_heads or (d_model // n_heads) % 2:
            raise ValueError(
                f"d_model={d_model} must split into n_heads={n_heads} heads of an even "
                f"size (rotary embeddings rotate pairs of dimensions)."
            )
        self.n_heads = n_heads
        self.rotary_theta = rotary_theta
        self.query = nn.Linear(d_model, d_model, bias=False)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model, bias=False)
        self.output = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x, positions, key_mask, memory=None, memory_positions=None):
        """Attend from every position of ``x``.

        Parameters
        ----------
        x : Tensor (B, Lq, d)
        positions : Tensor (B, Lq)
            Rotary positions of the queries.
        key_mask : bool Tensor (B, Lk)
            True where a key may be attended to.
        memory : Tensor (B, Lk, d), optional
            Keys and values for cross-attention; ``x`` itself when None.
        memory_positions : Tensor (B, Lk), optional
            Rotary positions of the keys; ``positions`` when None.

        Returns
        -------
        Tensor (B, Lq, d)
        """
        memory = x if memory is None else memory
        memory_positions = positions if memory_positions is None else memory_positions
        B, Lq, d = x.shape
        Lk = memory.shape[1]
        head_dim = d // self.n_heads
        q = self.query(x).view(B, Lq, self.n_heads, head_dim).transpose(1, 2)  # (B, H, Lq, hd)
        k = self.key(memory).view(B, Lk, self.n_heads, head_dim).transpose(1, 2)  # (B, H, Lk, hd)
        v = self.value(memory).view(B, Lk, self.n_heads, head_dim).transpose(1, 2)  # (B, H, Lk, hd)
        q = apply_rotary(q, *rotary_cos_sin(positions, head_dim, self.rotary_theta))
        k = apply_rotary(k, *rotary_cos_sin(memory_positions, head_dim, self.rotary_theta))
        # a row with no key at all would give NaN; let it attend everywhere instead
        # (its output is padding that nothing downstream reads)
        key_mask = key_mask | ~key_mask.any(dim=-1, keepdim=True)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])  # (B, H, Lq, hd)
        return self.output(attended.transpose(1, 2).reshape(B, Lq, d))  # (B, Lq, d)
