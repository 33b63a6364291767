"""Configs of every pretrained layout are checked before anything is built from them.

Real folders: the authors' DNABERT-2 and MxDNA reference checkpoints
(``../shared/data/*_reference``) with one config value changed, and folders that
dnatok's own save_pretrained wrote.
"""

import json
import tracemalloc

import pytest
import torch

from dnatok.nn import PretrainedWeights, SequenceClassificationModel, load_pretrained, save_pretrained


def _variant(source, folder, **changes):
    """``folder`` with ``source``'s files (linked) and its config.json changed; a value
    of ``...`` removes the key."""
    folder.mkdir()
    for path in source.iterdir():
        if path.name != "config.json":
            (folder / path.name).symlink_to(path)
    config = json.loads((source / "config.json").read_text())
    config.update(changes)
    config = {key: value for key, value in config.items() if value is not ...}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def dnabert2_folder(shared_data):
    path = shared_data / "dnabert2_reference"
    assert path.is_dir(), f"the reference fixture is missing at {path}"
    return path


@pytest.fixture(scope="module")
def mxdna_folder(shared_data):
    path = shared_data / "mxdna_reference"
    assert path.is_dir(), f"the reference fixture is missing at {path}"
    return path


@pytest.mark.parametrize("key, value, expected", [
    ("hidden_size", "24", "expected an int at least 1"),
    ("hidden_size", float("nan"), "expected an int at least 1"),
    ("hidden_size", 1.5, "expected an int at least 1"),
    ("hidden_size", None, "expected an int at least 1"),
    ("hidden_size", [24], "expected an int at least 1"),
    ("hidden_size", -24, "expected an int at least 1"),
    ("num_attention_heads", 0, "expected an int at least 1"),
    ("num_hidden_layers", True, "expected an int at least 0"),
    ("hidden_dropout_prob", 2.0, "expected a number at least 0 and at most 1"),
    ("layer_norm_eps", 0, "expected a number above 0"),
    ("pad_token_id", -1, "expected an int at least 0, or null"),
])
def test_dnabert2_config_values_are_checked_by_key(dnabert2_folder, tmp_path, key, value, expected):
    folder = _variant(dnabert2_folder, tmp_path / "model", **{key: value})
    with pytest.raises(ValueError, match=rf"model/config.json: {key} = .*; {expected}"):
        load_pretrained(folder)


def test_dnabert2_config_sizes_that_must_agree(dnabert2_folder, tmp_path):
    config = json.loads((dnabert2_folder / "config.json").read_text())
    with pytest.raises(ValueError, match=r"config.json lacks vocab_size"):
        load_pretrained(_variant(dnabert2_folder, tmp_path / "a", vocab_size=...))
    with pytest.raises(ValueError, match=r"config.json: hidden_size = \d+ is not a multiple of num_attention_heads = 7"):
        load_pretrained(_variant(dnabert2_folder, tmp_path / "b", num_attention_heads=7))
    with pytest.raises(ValueError, match=r"pad_token_id = \d+ is not an id of a vocabulary of vocab_size"):
        load_pretrained(_variant(dnabert2_folder, tmp_path / "c", pad_token_id=config["vocab_size"]))
    with pytest.raises(ValueError, match=r"hidden_size = 32768, but the weights in .*model.safetensors have "
                                         r"\d+ embedding columns"):
        load_pretrained(_variant(dnabert2_folder, tmp_path / "d", hidden_size=32768, num_attention_heads=4))
    # a width no count gives: compared tensor by tensor on the meta device
    with pytest.raises(ValueError, match=r"weights do not match their config.json: wrong shapes .*feed_forward"):
        load_pretrained(_variant(dnabert2_folder, tmp_path / "e", intermediate_size=10**10))


def _refused_cheaply(folder, match):
    """Load ``folder``, expecting a refusal, and return the Python memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load_pretrained(folder)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_absurd_sizes_are_refused_before_anything_is_built(dnabert2_folder, mxdna_folder, tmp_path):
    # before: a million layers (on the meta device) or list(range(10**9)) were built first
    peak = _refused_cheaply(_variant(dnabert2_folder, tmp_path / "layers", num_hidden_layers=10**6),
                            r"num_hidden_layers = 1000000, but the weights in .* have \d+ layers")
    assert peak < 50 * 2**20
    experts = _variant(mxdna_folder, tmp_path / "experts", num_local_experts=10**9, expert_kernel_sizes=...)
    peak = _refused_cheaply(experts, r"num_local_experts = 1000000000, but the weights in .* have \d+ convolution "
                                     r"experts")
    assert peak < 50 * 2**20
    config = json.loads((mxdna_folder / "config.json").read_text())
    deep = _variant(mxdna_folder, tmp_path / "deep", conversion_layer_idx=10**6,
                    num_hidden_layers=10**6 + config["num_hidden_layers"])
    peak = _refused_cheaply(deep, r"conversion_layer_idx = 1000000, but the weights in .* have \d+ nucleotide layers")
    assert peak < 50 * 2**20


@pytest.mark.parametrize("key, value, expected", [
    ("num_local_experts", "10", "num_local_experts = '10'; expected an int at least 1"),
    ("conversion_layer_idx", -1, "conversion_layer_idx = -1; expected an int at least 0"),
    ("num_hidden_layers", 1, r"num_hidden_layers - conversion_layer_idx - 1 = -?\d+; expected an int at least 0"),
    ("rope_theta", "big", "rope_theta = 'big'; expected a number above 0"),
    ("cls_token_id", 99, "cls_token_id = 99 is not an id of a vocabulary of vocab_size = 9"),
    ("expert_kernel_sizes", "1..10", "does not implement: expert_kernel_sizes='1..10'"),
])
def test_mxdna_config_values_are_checked_by_key(mxdna_folder, tmp_path, key, value, expected):
    folder = _variant(mxdna_folder, tmp_path / "model", **{key: value})
    with pytest.raises(ValueError, match=r"model/config.json: .*" + expected):
        load_pretrained(folder)


def test_mxdna_config_without_a_required_key(mxdna_folder, tmp_path):
    with pytest.raises(ValueError, match=r"config.json lacks num_local_experts"):
        load_pretrained(_variant(mxdna_folder, tmp_path / "model", num_local_experts=..., expert_kernel_sizes=...))


# -- folders dnatok saved ---------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    """A folder that save_pretrained wrote for a small real model."""
    torch.manual_seed(0)
    model = SequenceClassificationModel(vocab_size=9, n_classes=2, d_model=16, n_layers=2, n_heads=2)
    state = {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}
    folder = tmp_path / "saved"
    save_pretrained(PretrainedWeights("transformer", dict(model.encoder_config), state, "CharTokenizer", "f" * 8),
                    folder)
    return folder


def _edit(folder, **changes):
    """Change save_pretrained's config.json in place; ``encoder__key`` edits the encoder."""
    file = folder / "config.json"
    config = json.loads(file.read_text())
    for key, value in changes.items():
        if key.startswith("encoder__"):
            config["encoder"][key.removeprefix("encoder__")] = value
        else:
            config[key] = value
    file.write_text(json.dumps(config))
    return folder


def test_saved_folder_loads(saved):
    pretrained = load_pretrained(saved)
    assert pretrained.config["d_model"] == 16 and pretrained.family == "transformer"


@pytest.mark.parametrize("changes, match", [
    # before: TransformerEncoder(d_model=32768) allocated the weights (38 GB at full size)
    # before the saved ones were compared with it
    ({"encoder__d_model": 32768}, r"encoder.d_model = 32768, but the weights in .*encoder.pt have 16 embedding"),
    ({"encoder__n_layers": 10**6}, r"encoder.n_layers = 1000000, but the weights in .*encoder.pt have 2 blocks"),
    ({"encoder__d_ff": 10**10}, r"weights do not match their config.json: wrong shapes blocks.0.ffn"),
    ({"encoder__d_model": "16"}, r"config.json: encoder.d_model = '16'; expected an int at least 1"),
    ({"encoder__dropout": float("nan")}, r"encoder.dropout = nan; expected a number at least 0 and at most 1"),
    ({"encoder__n_heads": 0}, r"encoder.n_heads = 0; expected an int at least 1"),
    ({"encoder__n_heads": 3}, r"encoder.d_model = 16 is not a multiple of encoder.n_heads = 3"),
    ({"encoder__layers": 2}, r"encoder.layers is not a setting of this model \(known: .*d_model"),
    ({"encoder": []}, r"config.json: encoder = \[\]; expected an object"),
    ({"architecture": 5}, r"config.json: architecture = 5; expected a string"),
    ({"architecture": "gpt"}, r"config.json: architecture = 'gpt': .*transformer"),
    ({"tokenizer_name": None}, r"config.json: tokenizer_name = None; expected a string"),
    ({"files": "x"}, r"config.json has files = 'x'"),
    ({"files": {}}, r"records no SHA-256 for encoder.pt"),
])
def test_saved_config_is_checked_before_anything_is_built(saved, changes, match):
    with pytest.raises(ValueError, match=match):
        load_pretrained(_edit(saved, **changes))


def test_saved_config_check_takes_little_memory(saved):
    peak = _refused_cheaply(_edit(saved, encoder__d_model=32768, encoder__d_ff=10**10), "encoder.d_model = 32768")
    assert peak < 50 * 2**20
