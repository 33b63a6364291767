"""A plain PyTorch masked-LM training loop, for models that ``dnatok`` itself trains.

The skorch estimators live in the ``estimators`` package, which depends on
``dnatok`` and never the reverse; a tokenizer whose state is a network (MxDNA) is
trained here instead, with the same controls: epochs or a time budget, batch size,
AdamW with warm-up + cosine decay, gradient clipping, device, bf16 autocast, a
progress bar and a random state.
"""

import contextlib
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from ._masking import IGNORE_INDEX, mask_tokens, warmup_cosine

__all__ = ["masked_lm_loss", "seeded", "train_masked_lm"]


@contextlib.contextmanager
def seeded(seed, device="cpu"):
    """Seed torch inside the block and restore the caller's random state after it."""
    if seed is None:
        yield
        return
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def train_masked_lm(
    model,
    input_ids,
    attention_mask,
    *,
    special_token_ids,
    mask_token_id,
    vocab_size,
    max_epochs=10,
    max_time=None,
    batch_size=32,
    lr=1e-3,
    warmup_fraction=0.1,
    weight_decay=0.01,
    gradient_clip_value=1.0,
    aux_loss_weight=0.01,
    mask_probability=0.15,
    device="cpu",
    mixed_precision=False,
    verbose=0,
    seed=None,
):
    """Train ``model`` in place by masked language modelling.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(input_ids, attention_mask)`` returns logits (B, L, vocab_size), or a
        tuple ``(logits, aux_loss)`` whose auxiliary loss is added with weight
        ``aux_loss_weight`` (MxDNA's load balancing).
    input_ids, attention_mask : ndarray or Tensor, shape (n_sequences, L)
    special_token_ids, mask_token_id, vocab_size
        As in :func:`mask_tokens`.
    max_epochs : int, default=10
        Passes over the data; the learning-rate schedule spans them.
    max_time : float or None, default=None
        Stop after this many seconds (checked after each batch).
    batch_size, lr, warmup_fraction, weight_decay, gradient_clip_value
        AdamW, peak learning rate, warm-up share, weight decay, largest gradient
        norm (None: no clipping).
    aux_loss_weight : float, default=0.01
    mask_probability : float, default=0.15
    device : str, default="cpu"
    mixed_precision : bool, default=False
        bf16 autocast for the forward pass.
    verbose : int, default=0
        1 shows a tqdm progress bar with the running loss.
    seed : int or None
        Seeds shuffling, masking, dropout and jitter; the caller's torch random
        state is restored afterwards.

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``loss`` (mean total), ``mlm_loss``, ``aux_loss``,
        ``seconds``, ``stopped_early`` (the time budget ran out during it).
    """
    input_ids = torch.as_tensor(np.asarray(input_ids))
    attention_mask = torch.as_tensor(np.asarray(attention_mask))
    n = len(input_ids)
    batches_per_epoch = math.ceil(n / batch_size)
    total_steps = max(1, batches_per_epoch * max_epochs)
    device = torch.device(device)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    history, step, start = [], 0, time.monotonic()
    with seeded(seed, device):
        generator = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, (1,))))
        for epoch in range(max_epochs):
            model.train()
            order = torch.randperm(n, generator=generator)
            sums = {"loss": 0.0, "mlm_loss": 0.0, "aux_loss": 0.0}
            epoch_start, out_of_time, batches = time.monotonic(), False, 0
            progress = _progress(batches_per_epoch, epoch, verbose)
            for first in range(0, n, batch_size):
                rows = order[first:first + batch_size]
                masked, labels = mask_tokens(
                    input_ids[rows], attention_mask[rows], special_token_ids, mask_token_id,
                    vocab_size, generator, mask_probability,
                )
                for group in optimizer.param_groups:
                    group["lr"] = lr * warmup_cosine(step, total_steps, warmup_fraction)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(mixed_precision)):
                    output = model(masked.to(device), attention_mask[rows].to(device))
                logits, aux = output if isinstance(output, tuple) else (output, None)
                mlm = masked_lm_loss(logits.float(), labels.to(device))
                loss = mlm if aux is None else mlm + aux_loss_weight * aux.float()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if gradient_clip_value is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), gradient_clip_value)
                optimizer.step()
                step += 1
                batches += 1
                sums["loss"] += loss.item()
                sums["mlm_loss"] += mlm.item()
                sums["aux_loss"] += 0.0 if aux is None else aux.item()
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix(loss=f"{sums['loss'] / batches:.4f}")
                if max_time is not None and time.monotonic() - start > max_time:
                    out_of_time = True
                    break
            if progress is not None:
                progress.close()
            history.append({
                "epoch": epoch + 1,
                **{key: value / max(batches, 1) for key, value in sums.items()},
                "seconds": time.monotonic() - epoch_start,
                "stopped_early": out_of_time,
            })
            if out_of_time:
                break
    model.eval()
    return history


def masked_lm_loss(logits, labels):
    """Cross-entropy over chosen positions; 0 (with a gradient) when none was chosen."""
    if not (labels != IGNORE_INDEX).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)


def _progress(total, epoch, verbose):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"epoch {epoch + 1}", leave=True)
