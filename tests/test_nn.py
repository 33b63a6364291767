"""The PyTorch backbone: shapes, rotary positions, masking, sizes."""

import pytest
import numpy as np
import torch

from dnatok.nn import MaskedLMModel, SequenceClassificationModel, TransformerBlock, TransformerEncoder
from dnatok.nn._attention import MultiHeadAttention
from dnatok.nn._rotary import apply_rotary, rotary_cos_sin
from dnatok.training import MaskedLMPretrainer


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


def _one_base_sequences(n=64):
    """A learnable language: every sequence repeats one base."""
    from dnatok import CharTokenizer

    bases = np.array(list("ACGT"))[np.random.default_rng(0).integers(0, 4, n)]
    return CharTokenizer().transform([base * 16 for base in bases])


def test_masked_lm_net_learns_is_reproducible_and_keeps_the_callers_rng():

    tokens = _one_base_sequences()

    def run():
        torch.manual_seed(99)
        net = MaskedLMPretrainer(MaskedLMModel, module__d_model=16, module__n_heads=2, module__n_layers=1,
                          module__dropout=0.0, max_epochs=8, batch_size=16, lr=3e-3, random_state=0)
        return net.fit(tokens), torch.rand(1)

    net, after = run()
    torch.manual_seed(99)
    assert torch.equal(after, torch.rand(1))  # the caller's RNG continues as if untouched
    losses = net.history[:, "train_loss"]
    assert losses[-1] < losses[0] - 0.3
    assert run()[0].history[:, "train_loss"] == losses


def test_masked_lm_net_time_budget_and_aux_loss_of_mxdna():
    from dnatok.nn import MxDNAMaskedLM

    net = MaskedLMPretrainer(MxDNAMaskedLM, module__d_model=16, module__n_heads=2, module__n_token_layers=1,
                      module__n_experts=3, max_epochs=10_000, max_time=0.5, batch_size=8, random_state=0)
    net.fit(_one_base_sequences(256))
    # finished epochs ended their training within the budget: together at most it and one epoch
    durations = [epoch["dur"] for epoch in net.history if "dur" in epoch]
    assert sum(durations) < 0.5 + max(durations, default=0)
    # the balancing loss came back with the output, was recorded and added to the loss
    # read per batch: on a slow machine the time budget may end training before an epoch does
    aux = [batch["train_aux_loss"] for epoch in net.history for batch in epoch["batches"]]
    assert aux
    assert all(0.5 < value < 3 for value in aux)
    assert net.module_.encoder.tokenization.router.weight.grad is not None


def test_adam_runs_fused_unless_told_otherwise():

    kwargs = dict(module__d_model=16, module__n_heads=2, module__n_layers=1, max_epochs=1, batch_size=16)
    tokens = _one_base_sequences()

    def optimizer(**params):
        return MaskedLMPretrainer(MaskedLMModel, **{**kwargs, "max_epochs": 0, **params}).fit(tokens).optimizer_

    assert all(group["fused"] for group in optimizer().param_groups)
    # the caller's choice stands, and other optimizers get nothing they do not know
    assert all(group["foreach"] and not group["fused"] for group in optimizer(optimizer__foreach=True).param_groups)
    assert not optimizer(optimizer=torch.optim.SGD).defaults.get("fused")
    # a fused step is the same update as the per-tensor loop
    losses = [MaskedLMPretrainer(MaskedLMModel, optimizer__fused=fused, random_state=0, **kwargs)
              .fit(tokens).history[:, "train_loss"] for fused in (True, False)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)


def test_weight_decay_only_on_matrices():
    from dnatok.nn import MxDNAMaskedLM
    from dnatok.training._net import parameter_groups

    model = MxDNAMaskedLM(d_model=16, n_heads=2, n_token_layers=1, n_experts=3)
    decayed, kept = parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed_names = {names[id(p)] for p in decayed["params"]}
    kept_names = {names[id(p)] for p in kept["params"]}
    assert decayed["weight_decay"] == 0.01 and kept["weight_decay"] == 0.0
    assert len(decayed_names) + len(kept_names) == len(names)
    assert "encoder.embedding.weight" in kept_names
    norms = {f"{m}.{p}" for m, module in model.named_modules() if isinstance(module, torch.nn.LayerNorm)
             for p, _ in module.named_parameters()}
    assert kept_names == norms | {n for n in names.values() if n.endswith(".bias")} | {"encoder.embedding.weight"}
    assert {"encoder.tokenization.router.weight", "encoder.tokenization.assembly.weight",
            "encoder.stem.conv.weight", "head.net.0.weight"} <= decayed_names
