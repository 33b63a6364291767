"""Masked language modelling: choosing and corrupting tokens, and the LR schedule.

Used by the one masked-LM trainer (:class:`dnatok.training.MaskedLMPretrainer`,
which ``MxDNATokenizer.fit`` runs too) and by the learning-rate callback.
"""

import math

import numpy as np
import torch

__all__ = ["IGNORE_INDEX", "mask_tokens", "warmup_cosine"]

#: label of positions that the loss ignores
IGNORE_INDEX = -100


def mask_tokens(input_ids, attention_mask, special_token_ids, mask_token_id, vocab_size,
                generator=None, mask_probability=0.15):
    """BERT-style masking: choose tokens, then 80% [MASK], 10% random, 10% unchanged.

    Special tokens and padding are never chosen. Random replacements are drawn from
    the non-special tokens.

    Parameters
    ----------
    input_ids : Tensor (B, L) of int
    attention_mask : Tensor (B, L) of bool
    special_token_ids : sequence of int
    mask_token_id : int
    vocab_size : int
    generator : torch.Generator or None
        Random source (on the CPU); the outputs move to ``input_ids``'s device.
    mask_probability : float, default=0.15

    Returns
    -------
    masked_ids : LongTensor (B, L)
    labels : LongTensor (B, L)
        The original id at chosen positions, -100 elsewhere (ignored by the loss).

    Examples
    --------
    >>> ids = torch.tensor([[2, 5, 6, 7, 8, 3, 0]])
    >>> masked, labels = mask_tokens(ids, ids != 0, [0, 1, 2, 3, 4], 4, 9,
    ...                              torch.Generator().manual_seed(0), mask_probability=1.0)
    >>> labels.tolist()
    [[-100, 5, 6, 7, 8, -100, -100]]
    """
    device = input_ids.device
    ids = input_ids.long().cpu()
    special = torch.as_tensor(sorted(special_token_ids))
    eligible = attention_mask.bool().cpu() & ~torch.isin(ids, special)  # (B, L)
    chosen = eligible & (torch.rand(ids.shape, generator=generator) < mask_probability)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    action = torch.rand(ids.shape, generator=generator)
    normal = torch.as_tensor(np.setdiff1d(np.arange(vocab_size), special.numpy()))
    random_ids = normal[torch.randint(len(normal), ids.shape, generator=generator)]
    masked = torch.where(chosen & (action < 0.8), torch.full_like(ids, mask_token_id), ids)
    masked = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, masked)
    return masked.to(device), labels.to(device)


def warmup_cosine(step, total_steps, warmup_fraction):
    """Learning-rate multiplier: linear warm-up, then cosine decay to 0.

    Examples
    --------
    >>> [round(warmup_cosine(s, 10, 0.2), 2) for s in (0, 1, 2, 6, 9)]
    [0.33, 0.67, 1.0, 0.5, 0.04]
    """
    warmup = warmup_fraction * total_steps
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1.0, total_steps - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))
