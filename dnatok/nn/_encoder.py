"""A transformer encoder over token ids: embedding, blocks, final LayerNorm."""

import torch
from torch import nn

from ._block import TransformerBlock
from ._stem import ConvolutionStem

__all__ = ["TransformerEncoder", "init_weights"]


def init_weights(module, std=0.02):
    """Truncated-normal weights (std 0.02), zero biases, as MxDNA and BERT do."""
    if isinstance(module, (nn.Linear, nn.Embedding, nn.Conv1d)):
        nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()


class TransformerEncoder(nn.Module):
    """Token ids -> contextual hidden states, with rotary positions 0..L-1.

    Embedding, an optional :class:`ConvolutionStem`, pre-LN transformer blocks with
    rotary attention, final LayerNorm.

    Parameters
    ----------
    vocab_size : int
        Number of token ids.
    d_model : int, default=128
        Width of the hidden states.
    n_layers : int, default=2
        Number of transformer blocks.
    n_heads : int, default=4
        Attention heads per block.
    d_ff : int or None, default=None
        Hidden width of the feed-forward networks; None means ``4 * d_model``.
    dropout : float, default=0.1
        Dropout on the embeddings and on every residual branch.
    max_length : int or None, default=1024
        Longest input, in tokens, that the model accepts (None: no limit; rotary
        positions need no table).
    pad_token_id : int, default=0
        Id whose embedding row is kept at zero.
    rotary_theta : float, default=10000.0
        Base of the rotary frequencies.
    conv_kernel_size : int, default=9
        Width of the convolution stem (odd); 0 for none. Without it a model over
        single nucleotides does not learn motifs (see :class:`ConvolutionStem`).

    Examples
    --------
    >>> encoder = TransformerEncoder(vocab_size=9, d_model=16, n_layers=1, n_heads=2)
    >>> ids = torch.tensor([[2, 5, 6, 3, 0]])
    >>> encoder(ids, ids != 0).shape
    torch.Size([1, 5, 16])
    """

    def __init__(
        self,
        vocab_size,
        d_model=128,
        n_layers=2,
        n_heads=4,
        d_ff=None,
        dropout=0.1,
        max_length=1024,
        pad_token_id=0,
        rotary_theta=10000.0,
        conv_kernel_size=9,
    ):
        super().__init__()
        self.max_length = max_length
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_token_id)
        self.dropout = nn.Dropout(dropout)
        self.stem = ConvolutionStem(d_model, conv_kernel_size) if conv_kernel_size else None
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, d_ff or 4 * d_model, dropout, rotary_theta=rotary_theta)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(self, input_ids, attention_mask):
        """Shapes: input_ids (B, L) int, attention_mask (B, L) bool -> (B, L, d)."""
        B, L = input_ids.shape
        if self.max_length is not None and L > self.max_length:
            raise ValueError(
                f"Got inputs of {L} tokens, more than the model's max_length={self.max_length}."
            )
        attention_mask = attention_mask.bool()
        positions = torch.arange(L, device=input_ids.device).expand(B, L)  # (B, L)
        x = self.dropout(self.embedding(input_ids.long()))  # (B, L, d)
        if self.stem is not None:
            x = self.stem(x, attention_mask)  # (B, L, d)
        for block in self.blocks:
            x = block(x, positions, attention_mask)
        return self.norm(x)
