"""The PyTorch backbone: shapes, rotary positions, masking, sizes."""

import pytest
import torch

from dnatok.nn import (
    MaskedLMModel,
    MultiHeadAttention,
    SequenceClassificationModel,
    TransformerBlock,
    TransformerEncoder,
    apply_rotary,
    rotary_cos_sin,
)


def test_rotary_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def score(pq, pk):
        cq, sq = rotary_cos_sin(torch.tensor([[float(pq)]]), 8)
        ck, sk = rotary_cos_sin(torch.tensor([[float(pk)]]), 8)
        return (apply_rotary(q, cq, sq) * apply_rotary(k, ck, sk)).sum()

    assert torch.allclose(score(3, 1), score(13, 11), atol=1e-5)
    assert not torch.allclose(score(3, 1), score(3, 2), atol=1e-3)


def test_block_parameter_count_matches_the_mxdna_decoder_block():
    # MXDNA.md: one d=512, FFN 2048 block has 4,196,352 parameters
    block = TransformerBlock(512, 16, 2048)
    assert sum(p.numel() for p in block.parameters()) == 4_196_352


def test_attention_ignores_masked_keys():
    torch.manual_seed(0)
    attention = MultiHeadAttention(16, 2).eval()
    x = torch.randn(1, 5, 16)
    positions = torch.arange(5)[None]
    mask = torch.tensor([[True, True, True, False, False]])
    changed = x.clone()
    changed[:, 3:] = torch.randn(1, 2, 16)
    assert torch.allclose(attention(x, positions, mask)[:, :3], attention(changed, positions, mask)[:, :3], atol=1e-6)


def test_cross_attention_shapes():
    block = TransformerBlock(16, 2, 64)
    x, memory = torch.randn(2, 7, 16), torch.randn(2, 3, 16)
    out = block(x, torch.arange(7).expand(2, 7), torch.ones(2, 3, dtype=torch.bool), memory, torch.tensor([[0, 4, 6]] * 2))
    assert out.shape == (2, 7, 16)


def test_padding_and_batch_composition_do_not_change_outputs():
    torch.manual_seed(0)
    model = SequenceClassificationModel(vocab_size=9, n_classes=2, d_model=16, n_heads=2, n_layers=2).eval()
    alone = torch.tensor([[2, 5, 6, 7, 3]])
    batch = torch.tensor([[2, 8, 8, 3, 0, 0, 0], [2, 5, 6, 7, 3, 0, 0], [2, 5, 5, 5, 5, 5, 3]])
    with torch.no_grad():
        single = model(alone, alone != 0)
        batched = model(batch, batch != 0)
    assert torch.allclose(single[0], batched[1], atol=1e-5)


def test_gradients_reach_every_parameter():
    model = MaskedLMModel(vocab_size=9, d_model=16, n_heads=2)
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    model(ids, ids != 0).sum().backward()
    assert all(p.grad is not None for name, p in model.named_parameters() if name != "encoder.embedding.weight")
    assert model.encoder.embedding.weight.grad[5:8].abs().sum() > 0


def test_too_long_inputs_and_bad_sizes_are_refused():
    encoder = TransformerEncoder(vocab_size=9, d_model=16, n_heads=2, max_length=4)
    ids = torch.ones(1, 5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"^Got inputs of 5 tokens, more than the model's max_length=4\.$"):
        encoder(ids, ids > 0)
    with pytest.raises(ValueError, match=r"d_model=10 must split into n_heads=4 heads of an even size"):
        TransformerEncoder(vocab_size=9, d_model=10, n_heads=4)


def test_masked_lm_output_shape():
    model = MaskedLMModel(vocab_size=11, d_model=16, n_heads=2)
    ids = torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]])
    assert model(ids, ids != 0).shape == (2, 4, 11)


def test_train_masked_lm_learns_is_reproducible_and_keeps_the_callers_rng():
    from dnatok.nn import train_masked_lm

    # a learnable language: every sequence repeats one base
    ids = torch.full((64, 18), 0, dtype=torch.long)
    ids[:, 0], ids[:, 17] = 2, 3
    ids[:, 1:17] = torch.randint(5, 9, (64, 1))
    mask = ids != 0

    def run():
        torch.manual_seed(0)
        model = MaskedLMModel(vocab_size=9, d_model=16, n_heads=2, n_layers=1, dropout=0.0)
        torch.manual_seed(99)
        history = train_masked_lm(model, ids, mask, special_token_ids=[0, 1, 2, 3, 4], mask_token_id=4,
                                  vocab_size=9, max_epochs=8, batch_size=16, lr=3e-3, seed=0)
        return model, history, torch.rand(1)

    model, history, after = run()
    torch.manual_seed(99)
    assert torch.equal(after, torch.rand(1))  # the caller's RNG continues as if untouched
    assert history[-1]["mlm_loss"] < history[0]["mlm_loss"] - 0.3
    assert [h["loss"] for h in run()[1]] == [h["loss"] for h in history]
    assert not model.training


def test_train_masked_lm_time_budget():
    from dnatok.nn import train_masked_lm

    ids = torch.randint(5, 9, (256, 20))
    model = MaskedLMModel(vocab_size=9, d_model=16, n_heads=2, n_layers=1)
    history = train_masked_lm(model, ids, ids > 0, special_token_ids=[0, 1, 2, 3, 4], mask_token_id=4,
                              vocab_size=9, max_epochs=10_000, max_time=0.3, batch_size=8)
    assert len(history) < 10_000 and history[-1]["stopped_early"]
