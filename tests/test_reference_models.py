"""dnatok's DNABERT-2 and MxDNA against outputs of their authors' own code.

The fixtures in ``shared/data/dnabert2_reference`` and ``shared/data/mxdna_reference``
are small random-weight models in the official file layouts, with the inputs they
were run on and what the official classes returned (their READMEs describe every
tensor). Every size here comes from the fixture's own config.json and inputs, so
the same tests hold for any fixture made the same way. Tolerances are the READMEs'.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

import safetensors.torch as safetensors_torch

from dnatok import BPETokenizer
from dnatok.nn import DNABERT2ClassificationModel, DNABERT2MaskedLM, DNABERT2Model, load_dnabert2, load_pretrained
from dnatok.nn._dnabert2 import alibi_slopes, dnabert2_encoder_config, map_dnabert2_keys
from dnatok.nn._heads import pool
from dnatok.training._pretrainer import masked_lm_loss

ROOT = Path(__file__).resolve().parents[1]


def assert_close(got, ref, atol, rtol, what=""):
    got, ref = got.detach().float(), ref.float()
    assert got.shape == ref.shape, f"{what}: shape {tuple(got.shape)} != {tuple(ref.shape)}"
    excess = (got - ref).abs() - (atol + rtol * ref.abs())
    assert (excess <= 0).all(), f"{what}: max |diff| {(got - ref).abs().max().item():.3g} over tolerance"


# -- DNABERT-2 ---------------------------------------------------------------------------

# README "Tolerance": |got - ref| <= 1e-5 + 1e-5 |ref|
DNABERT2_ATOL = DNABERT2_RTOL = 1e-5
DNABERT2_BATCHES = ("main", "long", "single", "pair", "mlm")


def _fixture_folder(shared_data, name):
    path = shared_data / name
    assert path.is_dir(), f"the reference fixture is missing at {path}"
    return path


def _inputs_and_outputs(folder):
    return (safetensors_torch.load_file(folder / "inputs.safetensors"),
            safetensors_torch.load_file(folder / "outputs.safetensors"))


@pytest.fixture(scope="module")
def dnabert2_folder(shared_data):
    return _fixture_folder(shared_data, "dnabert2_reference")


@pytest.fixture(scope="module")
def dnabert2(dnabert2_folder):
    """(inputs, outputs, pretrained with the classification head) of the fixture."""
    inputs, outputs = _inputs_and_outputs(dnabert2_folder)
    # a fine-tuned BertForSequenceClassification checkpoint holds both files' keys
    state = safetensors_torch.load_file(dnabert2_folder / "model.safetensors")
    state.update(safetensors_torch.load_file(dnabert2_folder / "classifier_head.safetensors"))
    return inputs, outputs, load_dnabert2(dnabert2_folder, state_dict=state)


def _model_with_weights(pretrained, cls, **kwargs):
    """``cls`` built from a loaded checkpoint: its encoder, and every head weight it has room for."""
    model = cls(**pretrained.config, **kwargs).eval()
    model.encoder.load_state_dict(pretrained.state_dict)
    own = model.state_dict()
    missing = model.load_state_dict(
        {k: v for k, v in pretrained.head_state_dict.items() if k in own}, strict=False
    ).missing_keys
    assert all(k.startswith("encoder.") for k in missing), missing
    return model


def _batches(inputs, outputs, *, with_key):
    return [name for name in DNABERT2_BATCHES if f"{name}.{with_key}" in outputs]


def test_dnabert2_config_and_slopes(dnabert2, dnabert2_folder):
    _, outputs, pretrained = dnabert2
    config = json.loads((dnabert2_folder / "config.json").read_text())
    assert pretrained.config["d_model"] == config["hidden_size"]
    assert pretrained.config["n_layers"] == config["num_hidden_layers"]
    n_heads = config["num_attention_heads"]
    assert_close(alibi_slopes(n_heads), outputs["alibi_slopes"], 0, 0, "slopes")
    assert_close(alibi_slopes(12), outputs["alibi_slopes_12_heads"], 0, 0, "slopes of 12 heads")


def test_dnabert2_hidden_states_and_pooled_outputs(dnabert2):
    inputs, outputs, pretrained = dnabert2
    model = _model_with_weights(pretrained, DNABERT2Model, pooling="pooler")
    names = _batches(inputs, outputs, with_key="last_hidden_state")
    assert names
    with torch.no_grad():
        for name in names:
            ids, mask = inputs[f"{name}.input_ids"], inputs[f"{name}.attention_mask"]
            types = inputs[f"{name}.token_type_ids"] if name == "pair" else None  # as the fixture's calls
            hidden = model.encoder(ids, mask, types)
            # exactly 0.0 at padding, as the official code returns
            assert_close(hidden, outputs[f"{name}.last_hidden_state"], DNABERT2_ATOL, DNABERT2_RTOL, name)
            assert (hidden[mask == 0] == 0).all()
            pooled = torch.tanh(model.pooler(hidden[:, 0]))
            assert_close(pooled, outputs[f"{name}.pooled_output"], DNABERT2_ATOL, DNABERT2_RTOL, name)
            for pooling in ("mean", "max"):
                assert_close(pool(hidden, mask, pooling), outputs[f"{name}.embedding_{pooling}"],
                             DNABERT2_ATOL, DNABERT2_RTOL, f"{name} {pooling}")
            if types is None:
                assert_close(model(ids, mask), outputs[f"{name}.pooled_output"], DNABERT2_ATOL, DNABERT2_RTOL)


def test_dnabert2_embeddings_as_the_readme_takes_them(dnabert2):
    inputs, outputs, pretrained = dnabert2
    for pooling in ("mean", "max"):
        model = _model_with_weights(pretrained, DNABERT2Model, pooling=pooling)
        with torch.no_grad():
            got = model(inputs["single.input_ids"], inputs["single.attention_mask"])[0]
        assert_close(got, outputs[f"single.readme_embedding_{pooling}"], DNABERT2_ATOL, DNABERT2_RTOL, pooling)


def test_dnabert2_layer_outputs(dnabert2):
    inputs, outputs, pretrained = dnabert2
    encoder = _model_with_weights(pretrained, DNABERT2Model).encoder
    ids, mask = inputs["main.input_ids"], inputs["main.attention_mask"]
    seen = []
    hooks = [encoder.embedding_norm.register_forward_hook(lambda m, i, o: seen.append(o))]
    hooks += [block.register_forward_hook(lambda m, i, o: seen.append(o)) for block in encoder.blocks]
    with torch.no_grad():
        encoder(ids, mask)
    for hook in hooks:
        hook.remove()
    layers = sorted(int(k.rsplit(".", 1)[1]) for k in outputs if k.startswith("main.layer_outputs."))
    assert layers
    real = mask.bool()
    for index in layers:
        ref = outputs[f"main.layer_outputs.{index}"]
        where = slice(None) if index == 0 else real  # the embedding output is defined at padding too
        assert_close(seen[index][where], ref[where], DNABERT2_ATOL, DNABERT2_RTOL, f"layer output {index}")


def test_dnabert2_classification_logits(dnabert2):
    inputs, outputs, pretrained = dnabert2
    model = _model_with_weights(pretrained, DNABERT2ClassificationModel, pooling="pooler",
                            n_classes=outputs["main.seqcls_logits"].shape[1])
    names = [n for n in _batches(inputs, outputs, with_key="seqcls_logits") if n != "pair"]
    with torch.no_grad():
        for name in names:
            logits = model(inputs[f"{name}.input_ids"], inputs[f"{name}.attention_mask"])
            assert_close(logits, outputs[f"{name}.seqcls_logits"], DNABERT2_ATOL, DNABERT2_RTOL, name)


def test_dnabert2_masked_lm_logits_and_loss(dnabert2):
    inputs, outputs, pretrained = dnabert2
    model = _model_with_weights(pretrained, DNABERT2MaskedLM)
    # the decoder is the embedding matrix itself, as in the official model
    assert model.state_dict().keys().isdisjoint({"decoder.weight"})
    with torch.no_grad():
        for name in _batches(inputs, outputs, with_key="mlm_logits_at_positions"):
            positions = inputs[f"{name}.mlm_positions"]
            logits = model(inputs[f"{name}.input_ids"], inputs[f"{name}.attention_mask"])
            assert_close(logits[positions[:, 0], positions[:, 1]], outputs[f"{name}.mlm_logits_at_positions"],
                         DNABERT2_ATOL, DNABERT2_RTOL, name)
        logits = model(inputs["mlm.input_ids"], inputs["mlm.attention_mask"])
    labels = inputs["mlm.labels"].clone()
    labels[labels == 0] = -100  # the official loss skips label 0 ([UNK]) as well as -100
    assert_close(masked_lm_loss(logits, labels), outputs["mlm.loss"], DNABERT2_ATOL, DNABERT2_RTOL, "loss")
    chosen = labels > 0
    log_probs = torch.log_softmax(logits[chosen], dim=-1).gather(1, labels[chosen][:, None])[:, 0]
    assert_close(log_probs, outputs["mlm.label_log_probs"], DNABERT2_ATOL, DNABERT2_RTOL, "label log-probs")


def test_dnabert2_tokenizer_gives_the_fixture_ids(dnabert2, dnabert2_folder):
    inputs, _, _ = dnabert2
    texts = json.loads((dnabert2_folder / "inputs.json").read_text())
    for name in ("main", "single"):
        sequences = [entry["sequence"] for entry in texts[name]]
        tokens = BPETokenizer(pretrained=dnabert2_folder).fit(sequences).transform(sequences)
        np.testing.assert_array_equal(tokens["input_ids"], inputs[f"{name}.input_ids"].numpy())
        np.testing.assert_array_equal(tokens["attention_mask"], inputs[f"{name}.attention_mask"].numpy().astype(bool))


def _meta_state(entries):
    return {key: torch.empty(shape, device="meta") for key, shape, _ in entries}


def test_dnabert2_full_size_key_sets_load_exactly(dnabert2_folder):
    full = json.loads((dnabert2_folder / "full_size_keys.json").read_text())
    config = dnabert2_encoder_config(full["config.json"])
    with torch.device("meta"):
        masked_lm = DNABERT2MaskedLM(**config)
        classifier = DNABERT2ClassificationModel(
            **config, pooling="pooler", n_classes=dict((k, s) for k, s, _ in full["BertForSequenceClassification"]["keys"])["classifier.weight"][0])
        base = DNABERT2Model(**config, pooling="pooler")
    for what, model in (("pytorch_model.bin", masked_lm), ("BertForSequenceClassification", classifier),
                        ("BertModel", base)):
        encoder, head = map_dnabert2_keys(_meta_state(full[what]["keys"]))
        result = model.load_state_dict({**{f"encoder.{k}": v for k, v in encoder.items()}, **head},
                                       strict=False, assign=True)
        assert result.unexpected_keys == [], what
        assert result.missing_keys == [], what
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert {f"encoder.{k}": tuple(v.shape) for k, v in encoder.items()} | {k: tuple(v.shape) for k, v in head.items()} == expected
    n_unique = sum(int(np.prod(shape)) for key, shape, _ in full["pytorch_model.bin"]["keys"]
                   if key not in full["pytorch_model.bin"]["tied"])
    assert sum(p.numel() for p in masked_lm.parameters()) == n_unique


# -- DNABERT-2 through the estimators -----------------------------------------------------


@pytest.fixture(scope="module")
def dnabert2_sequences(dnabert2_folder):
    texts = json.loads((dnabert2_folder / "inputs.json").read_text())
    sequences = [entry["sequence"] for entry in texts["main"]] * 4
    return sequences, np.array([0, 1] * (len(sequences) // 2))


def test_dnabert2_embedding_pipeline_in_one_line(dnabert2, dnabert2_folder, dnabert2_sequences):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from estimators import DNABERT2Embedder

    X, y = dnabert2_sequences
    pipeline = make_pipeline(BPETokenizer(pretrained=dnabert2_folder), DNABERT2Embedder(dnabert2_folder),
                             LogisticRegression()).fit(X, y)
    assert pipeline.predict(X).shape == (len(X),)
    _, outputs, _ = dnabert2
    n_main = outputs["main.embedding_mean"].shape[0]
    embeddings = pipeline[:2].transform(X[:n_main])
    assert_close(torch.from_numpy(embeddings), outputs["main.embedding_mean"], DNABERT2_ATOL, DNABERT2_RTOL)


def test_dnabert2_fine_tuning_pipeline_and_round_trip(dnabert2_folder, dnabert2_sequences, tmp_path):
    from sklearn.pipeline import make_pipeline

    from estimators import DNABERT2Classifier

    X, y = dnabert2_sequences
    model = make_pipeline(BPETokenizer(pretrained=dnabert2_folder),
                          DNABERT2Classifier(dnabert2_folder, max_epochs=2, lr=1e-3, random_state=0)).fit(X, y)
    losses = model[-1].history[:, "train_loss"]
    assert np.isfinite(losses).all()
    model[-1].save_pretrained(tmp_path / "tuned")
    reloaded = make_pipeline(BPETokenizer(pretrained=dnabert2_folder),
                             DNABERT2Classifier(tmp_path / "tuned", max_epochs=0)).fit(X, y)
    # the encoder travels; transform pools its states the same way in both
    np.testing.assert_array_equal(model.transform(X), reloaded.transform(X))


# -- what goes wrong with folders gets said clearly --------------------------------------


def _copy_folder(src, dst, skip=()):
    dst.mkdir()
    for path in src.iterdir():
        if path.name not in skip:
            shutil.copy(path, dst / path.name)
    return dst


def test_dnabert2_folder_errors(dnabert2_folder, dnabert2_sequences, tmp_path):
    from sklearn.pipeline import make_pipeline

    from estimators import DNABERT2Classifier, MxDNAClassifier, SequenceClassifier

    X, y = dnabert2_sequences
    no_weights = _copy_folder(dnabert2_folder, tmp_path / "no_weights", skip={"model.safetensors"})
    with pytest.raises(FileNotFoundError, match="holds no weights: expected model.safetensors or pytorch_model.bin"):
        load_pretrained(no_weights)
    no_tokenizer = _copy_folder(dnabert2_folder, tmp_path / "no_tokenizer", skip={"tokenizer.json"})
    with pytest.raises(FileNotFoundError, match="has no tokenizer.json"):
        load_pretrained(no_tokenizer)
    with pytest.raises(FileNotFoundError, match="has no tokenizer.json; BPETokenizer"):
        BPETokenizer(pretrained=no_tokenizer).fit(X)
    truncated = _copy_folder(dnabert2_folder, tmp_path / "truncated", skip={"model.safetensors"})
    data = (dnabert2_folder / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or damaged; download it again"):
        load_pretrained(truncated)
    # the same for the hub's pickle format
    as_bin = _copy_folder(dnabert2_folder, tmp_path / "as_bin", skip={"model.safetensors"})
    torch.save(safetensors_torch.load_file(dnabert2_folder / "model.safetensors"), as_bin / "pytorch_model.bin")
    assert load_pretrained(as_bin).state_dict.keys() == load_pretrained(dnabert2_folder).state_dict.keys()
    data = (as_bin / "pytorch_model.bin").read_bytes()
    (as_bin / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or damaged"):
        load_pretrained(as_bin)
    # weights that do not fit the config
    config = json.loads((dnabert2_folder / "config.json").read_text())
    wrong = _copy_folder(dnabert2_folder, tmp_path / "wrong", skip={"config.json"})
    (wrong / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 1}))
    with pytest.raises(ValueError, match=r"config.json: num_hidden_layers = %d, but the weights in .*model.safetensors have %d layers"
                       % (config["num_hidden_layers"] + 1, config["num_hidden_layers"])):
        load_pretrained(wrong)
    unknown = _copy_folder(dnabert2_folder, tmp_path / "unknown", skip={"config.json"})
    (unknown / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="describes no model dnatok knows"):
        load_pretrained(unknown)
    with pytest.raises(FileNotFoundError, match="neither a folder nor a Hugging Face hub model id"):
        load_pretrained(tmp_path / "nowhere" / "at" / "all")
    # a DNABERT-2 model behind the wrong estimator, or behind another vocabulary
    tokenizer = BPETokenizer(pretrained=dnabert2_folder)
    with pytest.raises(ValueError, match="builds a 'transformer' model, but the pretrained model is a 'dnabert2' one"):
        make_pipeline(tokenizer, SequenceClassifier(pretrained=dnabert2_folder, max_epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match="MxDNAClassifier reads single nucleotides"):
        make_pipeline(tokenizer, MxDNAClassifier(pretrained=dnabert2_folder, max_epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match=r"another vocabulary .* BPETokenizer\(pretrained=\.\.\.\) with the same folder"):
        make_pipeline(BPETokenizer(vocab_size=20), DNABERT2Classifier(dnabert2_folder, max_epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match="Give tokenizer_file .* or pretrained .*, not both"):
        BPETokenizer(pretrained=dnabert2_folder, tokenizer_file=dnabert2_folder / "tokenizer.json").fit(X)


# -- hub ids: downloaded once from a real HTTP server on 127.0.0.1 ----------------------

_COMMIT = "d064dece8a8b41d9fb8729fbe3435278786931f1"


class _HubHandler(BaseHTTPRequestHandler):
    """The two hub routes huggingface_hub's file download uses: HEAD and GET of
    ``/{owner}/{name}/resolve/{revision}/{filename}``."""

    folders = {}  # repo id -> local folder
    requests = []

    def _file(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return None
        folder = self.folders.get("/".join(parts[:2]))
        path = None if folder is None else folder / "/".join(parts[4:])
        return path if path is not None and path.is_file() else None

    def _headers(self, path):
        self.requests.append((self.command, self.path))
        if path is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Error-Message", "Entry not found")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        self.send_response(200)
        self.send_header("X-Repo-Commit", _COMMIT)
        self.send_header("ETag", f'"{path.stat().st_size:x}-{path.name}"')
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        return True

    def do_HEAD(self):
        self._headers(self._file())

    def do_GET(self):
        path = self._file()
        if self._headers(path):
            self.wfile.write(path.read_bytes())

    def log_message(self, *args):
        pass


@pytest.fixture
def hub_server(dnabert2_folder):
    import huggingface_hub  # noqa: F401  (the test extra installs it)
    _HubHandler.folders = {"zhihan1996/DNABERT-2-117M": dnabert2_folder}
    _HubHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


_HUB_SCRIPT = """
import sys
from dnatok import BPETokenizer
from dnatok.nn import load_pretrained
X = ["ACGTAGCATCGGATCTATCTATCGACACTTGG", "CGTGGTAATTGCAACTGCTCAGG"]
tokens = BPETokenizer(pretrained="zhihan1996/DNABERT-2-117M").fit(X).transform(X)
pretrained = load_pretrained("zhihan1996/DNABERT-2-117M")
print(pretrained.family, pretrained.config["d_model"], tokens["input_ids"].shape[0])
"""


@pytest.mark.slow
def test_hub_id_downloads_once_then_works_offline(hub_server, dnabert2_folder, tmp_path):
    env = {**os.environ, "HF_ENDPOINT": hub_server, "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONPATH": str(ROOT)}
    env.pop("HF_HUB_OFFLINE", None)
    config = json.loads((dnabert2_folder / "config.json").read_text())
    expected = f"dnabert2 {config['hidden_size']} 2"

    def run(**extra):
        return subprocess.run([sys.executable, "-c", _HUB_SCRIPT], env={**env, **extra},
                              capture_output=True, text=True, timeout=300)

    first = run()
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.split("\n")[-2] == expected
    fetched = {path.rsplit("/", 1)[1] for command, path in _HubHandler.requests if command == "GET"}
    # the first weight file found is the only one fetched; the fixture's extras never are
    assert fetched == {"config.json", "tokenizer.json", "model.safetensors"}
    cached = list((tmp_path / "hf").rglob("model.safetensors"))
    assert len(cached) == 1
    # from the cache, without the server
    offline = run(HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
    assert offline.returncode == 0, offline.stderr[-3000:]
    assert offline.stdout.split("\n")[-2] == expected


@pytest.mark.slow
def test_hub_errors_are_clear(hub_server, tmp_path):
    env = {**os.environ, "HF_ENDPOINT": hub_server, "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONPATH": str(ROOT)}
    script = ("from dnatok.nn import load_pretrained\n"
              "try:\n    load_pretrained({!r})\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    missing = subprocess.run([sys.executable, "-c", script.format("someone/not-a-model")], env=env,
                             capture_output=True, text=True, timeout=300)
    assert "FileNotFoundError The hub repository 'someone/not-a-model' has no config.json" in missing.stdout
    # offline with an empty cache: the branch a machine without network takes (after
    # huggingface_hub's own retries, which take about 20 s and are not waited for here)
    uncached = subprocess.run([sys.executable, "-c", script.format("zhihan1996/DNABERT-2-117M")],
                              env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300)
    assert "OSError Could not download config.json of 'zhihan1996/DNABERT-2-117M'" in uncached.stdout


# -- MxDNA -------------------------------------------------------------------------------

# README "Tolerances": integers exact, floats atol = rtol = 1e-4 at the valid positions
MXDNA_ATOL = MXDNA_RTOL = 1e-4


@pytest.fixture(scope="module")
def mxdna_folder(shared_data):
    return _fixture_folder(shared_data, "mxdna_reference")


@pytest.fixture(scope="module")
def mxdna(mxdna_folder):
    """(inputs, outputs, pretrained) of the fixture; the folder's task head included."""
    from dnatok.nn import load_mxdna

    return (*_inputs_and_outputs(mxdna_folder), load_mxdna(mxdna_folder))


def _mxdna_model(pretrained, cls, official_padding=False, **kwargs):
    model = _model_with_weights(pretrained, cls, **kwargs)
    model.encoder.tokenization.assembly.official_padding = official_padding
    return model


def _keep(seen, name, attribute=None):
    """A forward hook that records a module's (first) output under ``name``."""

    def hook(module, args, output):
        seen.setdefault(name, output if attribute is None else getattr(output, attribute))

    return hook


def _mxdna_call(model, inputs):
    real = inputs["attention_mask"].bool()
    # the fixture's special-tokens mask also marks [PAD]; dnatok's marks [CLS] and [SEP]
    return inputs["input_ids"], inputs["attention_mask"], inputs["special_tokens_mask"].bool() & real


def test_mxdna_config_maps_to_the_official_layers(mxdna, mxdna_folder):
    _, _, pretrained = mxdna
    config = json.loads((mxdna_folder / "config.json").read_text())
    assert pretrained.config["n_nucleotide_layers"] == config["conversion_layer_idx"]
    assert pretrained.config["n_token_layers"] == config["num_hidden_layers"] - config["conversion_layer_idx"] - 1
    assert pretrained.config["conv_kernel_size"] == 0  # the paper's architecture
    assert pretrained.config["expert_gain"] == 1.0  # and its mixture
    assert pretrained.tokenizer_name == "CharTokenizer"


def test_mxdna_selection_and_nucleotide_states(mxdna):
    from dnatok.nn import MxDNAMaskedLM

    inputs, outputs, pretrained = mxdna
    model = _mxdna_model(pretrained, MxDNAMaskedLM)
    ids, mask, special = _mxdna_call(model, inputs)
    real = mask.bool()
    seen = {}
    hooks = [model.encoder.nucleotide_layers[0].register_forward_hook(_keep(seen, "layer0")),
             model.encoder.tokenization.assembly.offset.register_forward_hook(_keep(seen, "offsets")),
             model.encoder.tokenization.assembly.modulation.register_forward_hook(_keep(seen, "modulation"))]
    with torch.no_grad():
        out = model.encoder(ids, mask, special)
    for hook in hooks:
        hook.remove()
    tokens = out.tokenization
    # the discrete choices, exactly
    assert torch.equal(tokens.unit_expert.int()[real], outputs["basic_unit_center"][real])
    assert torch.equal((tokens.unit_length - 1).int()[real], outputs["basic_unit_cover"][real])
    assert torch.equal(tokens.token_mask.long()[real], outputs["token_mask"][real])
    assert_close(tokens.router_logits[real], outputs["router_logits"][real], MXDNA_ATOL, MXDNA_RTOL, "router")
    assert_close(out.nucleotide_states[real], outputs["nucleotide_hidden_states"][real], MXDNA_ATOL, MXDNA_RTOL)
    assert_close(seen["layer0"][real], outputs["layer_output.nucleotide.0"][real], MXDNA_ATOL, MXDNA_RTOL, "layer 0")
    # the deformable offsets at every real position whose neighbours are real too (the
    # padding effect reaches only the last one, [SEP], of a padded sequence)
    inner = real & torch.roll(real, -1, dims=1)
    inner[:, -1] = real[:, -1]
    for name, ref in (("offsets", outputs["deform_offsets"]), ("modulation", outputs["deform_modulation"])):
        got = seen[name] if name == "offsets" else 2 * torch.sigmoid(seen[name])
        assert_close(got.transpose(1, 2)[inner], ref.transpose(1, 2)[inner], MXDNA_ATOL, MXDNA_RTOL, name)


def test_mxdna_alone_sequences_match_exactly(mxdna):
    """dnatok's default: each sequence's outputs are its outputs alone, unpadded."""
    from dnatok.nn import MxDNAMaskedLM

    inputs, outputs, pretrained = mxdna
    model = _mxdna_model(pretrained, MxDNAMaskedLM)
    ids, mask, special = _mxdna_call(model, inputs)
    with torch.no_grad():
        batched, _ = model(ids, mask, special)
        for i in range(ids.shape[0]):
            length = int(mask[i].sum())
            logits, _ = model(ids[i : i + 1, :length], mask[i : i + 1, :length], special[i : i + 1, :length])
            assert_close(logits[0], outputs[f"alone.{i}.mlm.logits"], MXDNA_ATOL, MXDNA_RTOL, f"alone {i}")
            # batch invariance: the padded batch gives the same
            assert_close(batched[i, :length], logits[0], 1e-5, 1e-5, f"batched {i}")
            out = model.encoder(ids[i : i + 1, :length], mask[i : i + 1, :length], special[i : i + 1, :length])
            token_mask = outputs[f"alone.{i}.token_mask"].bool()
            assert torch.equal(out.token_positions[0][out.token_mask[0]], token_mask.nonzero()[:, 0])
            assert_close(out.token_states[0][out.token_mask[0]], outputs[f"alone.{i}.token_hidden_states"][token_mask],
                         MXDNA_ATOL, MXDNA_RTOL, f"alone tokens {i}")


def test_mxdna_padded_batch_matches_with_official_padding(mxdna):
    """With the official padding effect switched on, every batched output matches."""
    from dnatok.nn import MxDNAClassificationModel, MxDNAMaskedLM
    from dnatok.nn._mxdna import mxdna_loss

    inputs, outputs, pretrained = mxdna
    model = _mxdna_model(pretrained, MxDNAMaskedLM, official_padding=True)
    ids, mask, special = _mxdna_call(model, inputs)
    real = mask.bool()
    seen = {}
    hooks = [model.encoder.tokenization.register_forward_hook(_keep(seen, "conversion", "hidden")),
             model.encoder.token_layers[0].register_forward_hook(_keep(seen, "token0")),
             model.decoder.register_forward_hook(_keep(seen, "decoder"))]
    with torch.no_grad():
        out = model.encoder(ids, mask, special)
        logits, aux_loss = model(ids, mask, special)
        # the encoder computes the assembly only at its tokens; the whole grid on request
        grid = model.encoder.tokenization(out.nucleotide_states, mask, special).hidden
    for hook in hooks:
        hook.remove()
    assert_close(logits[real], outputs["mlm.logits"][real], MXDNA_ATOL, MXDNA_RTOL, "mlm logits")
    assert_close(aux_loss, outputs["mlm.aux_loss"], MXDNA_ATOL, MXDNA_RTOL, "aux loss")
    assert_close(mxdna_loss(logits, inputs["labels"], aux_loss, 0.01), outputs["mlm.loss"], MXDNA_ATOL, MXDNA_RTOL)
    assert_close(grid[real], outputs["conversion_output"][real], MXDNA_ATOL, MXDNA_RTOL, "conversion")
    assert_close(seen["decoder"][real], outputs["mlm.decoder_output"][real], MXDNA_ATOL, MXDNA_RTOL, "decoder")
    # token-level tensors at the tokens; dnatok gathers them to the front
    token_mask = outputs["token_mask"].bool()
    b, position = token_mask.nonzero().T
    slot = torch.cumsum(token_mask.long(), dim=1)[b, position] - 1
    assert torch.equal(out.token_positions[b, slot], position)
    assert_close(seen["conversion"][b, slot], outputs["conversion_output"][b, position], MXDNA_ATOL, MXDNA_RTOL)
    assert_close(out.token_states[b, slot], outputs["token_hidden_states"][b, position], MXDNA_ATOL, MXDNA_RTOL)
    assert_close(seen["token0"][b, slot], outputs["layer_output.token.0"][b, position], MXDNA_ATOL, MXDNA_RTOL)
    # MxDNAForTokenExtraction: the unit centres' token states, [CLS]/[SEP] excluded
    centre = ~special[b, position]
    assert_close(out.token_states[b, slot][centre], outputs["token_extraction"], MXDNA_ATOL, MXDNA_RTOL)
    # both classification heads
    for pooling, key in (("decoder", "cls"), ("cls_direct", "cls_nd")):
        classifier = _mxdna_model(pretrained, MxDNAClassificationModel, official_padding=True, pooling=pooling,
                                  n_classes=outputs[f"{key}.logits"].shape[1])
        with torch.no_grad():
            class_logits, class_aux = classifier(ids, mask, special)
        assert_close(class_logits, outputs[f"{key}.logits"], MXDNA_ATOL, MXDNA_RTOL, key)
        assert_close(mxdna_loss(class_logits, inputs["cls_labels"], class_aux, 0.01), outputs[f"{key}.loss"],
                     MXDNA_ATOL, MXDNA_RTOL, f"{key} loss")


def test_mxdna_full_size_key_set_loads_exactly(mxdna_folder):
    from dnatok.nn import MxDNAClassificationModel, MxDNAMaskedLM
    from dnatok.nn._mxdna_family import MXDNA_UNUSED_KEYS, map_mxdna_keys, mxdna_encoder_config

    full = json.loads((mxdna_folder / "full_size_keys.json").read_text())
    config = mxdna_encoder_config(full["config"])
    state = _meta_state(full["keys"])
    encoder, head = map_mxdna_keys(state)
    with torch.device("meta"):
        masked_lm = MxDNAMaskedLM(**config)
    result = masked_lm.load_state_dict({**{f"encoder.{k}": v for k, v in encoder.items()}, **head},
                                       strict=True, assign=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    n_official = sum(int(np.prod(shape)) for key, shape, _ in full["keys"] if key not in MXDNA_UNUSED_KEYS)
    n_unused = sum(int(np.prod(shape)) for key, shape, _ in full["keys"] if key in MXDNA_UNUSED_KEYS)
    assert sum(p.numel() for p in masked_lm.parameters()) == n_official == full["num_parameters"] - n_unused
    # the classification classes add task_head.* and do not use lm_head.*
    for variant, pooling in (("MxDNAForSequenceClassification", "decoder"), ("MxDNAForSequenceClassificationND", "cls_direct")):
        extra = full[variant]["keys_not_in_mlm"]
        unused = set(full[variant]["mlm_keys_not_used"]) if isinstance(full[variant]["mlm_keys_not_used"], list) else None
        keys = [entry for entry in full["keys"] if unused is None or entry[0] not in unused] + [[k, s, "float32"] for k, s in extra]
        if unused is None:  # the ND variant uses neither lm_head.* nor decoder.*
            keys = [entry for entry in keys if not entry[0].startswith(("lm_head.", "decoder."))]
        encoder, head = map_mxdna_keys(_meta_state(keys))
        n_classes = dict((k, s) for k, s in extra)["task_head.out_proj.weight"][0]
        with torch.device("meta"):
            classifier = MxDNAClassificationModel(**config, pooling=pooling, n_classes=n_classes)
        result = classifier.load_state_dict({**{f"encoder.{k}": v for k, v in encoder.items()}, **head},
                                            strict=True, assign=True)
        assert result.missing_keys == [] and result.unexpected_keys == [], variant


def test_mxdna_official_folder_in_the_estimators(mxdna, mxdna_folder, tmp_path):
    from sklearn.pipeline import make_pipeline

    from dnatok import MxDNATokenizer
    from estimators import MxDNAClassifier

    inputs, outputs, _ = mxdna
    windows = json.loads((mxdna_folder / "meta.json").read_text())["sequences"]["windows"]
    sequences = [window["seq"] for window in windows]
    # the tokenizer uses the released model's units: the fixture's selection, for every
    # sequence the fixture ran as it is (one has [MASK]s in it, which change its units)
    tokenizer = MxDNATokenizer(pretrained=mxdna_folder).fit(sequences)
    unmasked = [i for i in range(len(sequences)) if not (inputs["input_ids"][i] == 4).any()]
    assert unmasked
    for i in unmasked:
        centres = outputs["basic_unit_center"][i]
        lengths = (centres[centres >= 0] + 1).tolist()  # kernel of each unit, in order
        units = tokenizer.tokenize(sequences[i])
        assert [len(unit) for unit in units] == lengths and "".join(units) == sequences[i]
    # fine-tuning starts from the folder's network, decoder and task head included
    y = inputs["cls_labels"].numpy()
    # the released head reads the decoder pooling: under dnatok's default (mean) it is refused
    with pytest.raises(ValueError, match=r"fine-tuned classification head that reads MxDNA's decoder pooling, "
                                         r"but this MxDNAClassifier pools with module__pooling='mean'\. "
                                         r"Set module__pooling='decoder'"):
        make_pipeline(MxDNATokenizer(pretrained=mxdna_folder),
                      MxDNAClassifier(pretrained=mxdna_folder, max_epochs=0)).fit(sequences, y)
    classifier = make_pipeline(
        MxDNATokenizer(pretrained=mxdna_folder),
        MxDNAClassifier(pretrained=mxdna_folder, module__pooling="decoder", max_epochs=0, batch_size=1),
    ).fit(sequences, y)
    assert classifier[-1].module_.encoder.stem is None
    probabilities = torch.from_numpy(classifier.predict_proba(sequences))
    # batch of one: no padding, so dnatok's default equals the official computation
    model = _mxdna_model(load_pretrained(mxdna_folder), type(classifier[-1].module_), pooling="decoder")
    ids = classifier[0].transform(sequences)
    expected = []
    with torch.no_grad():
        for i in range(len(sequences)):
            length = int(ids["attention_mask"][i].sum())
            row = torch.as_tensor(ids["input_ids"][i : i + 1, :length])
            logits, _ = model(row, torch.ones_like(row, dtype=torch.bool))
            expected.append(logits.softmax(-1)[0])
    assert_close(probabilities, torch.stack(expected), 1e-5, 1e-5, "fine-tuning start")
    # round trip through dnatok's own format
    tokenizer.save_pretrained(tmp_path / "saved")
    again = MxDNATokenizer(pretrained=tmp_path / "saved").fit(sequences)
    assert [again.tokenize(s) for s in sequences] == [tokenizer.tokenize(s) for s in sequences]


def test_mxdna_folder_errors(mxdna_folder, tmp_path):
    from sklearn.pipeline import make_pipeline

    from dnatok import CharTokenizer, MxDNATokenizer
    from estimators import DNABERT2Classifier

    config = json.loads((mxdna_folder / "config.json").read_text())
    other_vocab = _copy_folder(mxdna_folder, tmp_path / "vocab", skip={"vocab.txt"})
    (other_vocab / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "T"]))
    with pytest.raises(ValueError, match=r"vocab.txt lists .* but dnatok's MxDNA reads .*another vocabulary"):
        load_pretrained(other_vocab)
    grouped = _copy_folder(mxdna_folder, tmp_path / "grouped", skip={"config.json"})
    (grouped / "config.json").write_text(json.dumps({**config, "num_key_value_heads": 1}))
    with pytest.raises(ValueError, match="settings dnatok does not implement: num_key_value_heads"):
        load_pretrained(grouped)
    deeper = _copy_folder(mxdna_folder, tmp_path / "deeper", skip={"config.json"})
    (deeper / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 1}))
    with pytest.raises(ValueError, match=r"config.json: num_hidden_layers - conversion_layer_idx - 1 = \d+, but the weights in "
                                         r".*model.safetensors have \d+ token layers"):
        load_pretrained(deeper)
    truncated = _copy_folder(mxdna_folder, tmp_path / "truncated", skip={"model.safetensors"})
    data = (mxdna_folder / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[:100])
    with pytest.raises(ValueError, match="truncated or damaged"):
        MxDNATokenizer(pretrained=truncated).fit(["ACGT"])
    X, y = ["ACGTACGTAA", "TTGACCATGA"] * 3, [0, 1] * 3
    with pytest.raises(ValueError, match="builds a 'dnabert2' model, but the pretrained model is a 'mxdna' one"):
        make_pipeline(CharTokenizer(), DNABERT2Classifier(mxdna_folder, max_epochs=0)).fit(X, y)


def test_a_pooler_the_checkpoint_lacks_is_announced(dnabert2_folder, dnabert2_sequences):
    from estimators import DNABERT2Embedder

    X, _ = dnabert2_sequences
    tokens = BPETokenizer(pretrained=dnabert2_folder).fit(X).transform(X)
    # the fixture's model.safetensors is the hub layout: masked-LM weights, no pooler
    with pytest.warns(UserWarning, match=r"module__pooling='pooler' reads a pooler the pretrained weights do not have"):
        DNABERT2Embedder(dnabert2_folder, module__pooling="pooler").fit(tokens)


def test_continued_pretraining_saves_and_reloads_the_whole_model(dnabert2_folder, dnabert2_sequences, tmp_path):
    from estimators import DNABERT2Pretrainer

    X, _ = dnabert2_sequences
    tokens = BPETokenizer(pretrained=dnabert2_folder).fit(X).transform(X)
    pretrainer = DNABERT2Pretrainer(dnabert2_folder, max_epochs=1, random_state=0).fit(tokens)
    pretrainer.save_pretrained(tmp_path / "continued")
    again = DNABERT2Pretrainer(tmp_path / "continued", max_epochs=0).fit(tokens)
    for name, value in pretrainer.module_.state_dict().items():  # masked-LM head included
        assert torch.equal(again.module_.state_dict()[name], value), name


# -- hostile files: paths, pickled code, damage and values are refused by name -----------


class _Payload:
    """Pickles as a call of ``print``: what a malicious checkpoint would do with os.system."""

    def __reduce__(self):
        return print, ("pwned",)


class _SystemPayload:
    """Pickles as ``os.system("echo pwned")``, the classic malicious checkpoint (harmless here)."""

    def __reduce__(self):
        return os.system, ("echo pwned",)


def _tiny_saved_folder(folder, head=False, **changes):
    """A real folder written by save_pretrained from a tiny encoder's state dict; ``changes``
    replace tensors before saving (the hashes are then those of the changed files)."""
    from dnatok import CharTokenizer
    from dnatok.nn import MaskedLMModel, PretrainedWeights, save_pretrained

    torch.manual_seed(0)
    config = dict(vocab_size=9, d_model=8, n_heads=2, n_layers=1, conv_kernel_size=0)
    model = MaskedLMModel(**config)
    state = {k.removeprefix("encoder."): v for k, v in model.state_dict().items() if k.startswith("encoder.")}
    heads = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    for key, value in changes.items():
        (heads if key.startswith("head.") else state)[key] = value
    save_pretrained(PretrainedWeights("transformer", config, state, "CharTokenizer",
                                      CharTokenizer().get_vocab_fingerprint(), heads if head else None), folder)
    return folder


def _set_files(folder, files):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "files": files}))


def _hash(path):
    from dnatok.datasets._download import sha256

    return sha256(path)


def test_config_files_name_only_files_inside_the_folder(tmp_path):
    folder = _tiny_saved_folder(tmp_path / "model")
    assert load_pretrained(folder).state_dict.keys()
    good = json.loads((folder / "config.json").read_text())["files"]
    # a file outside the folder, with its right hash: still never opened, so never an oracle
    secret = tmp_path / "secret"
    secret.write_text("not a weight file")
    for name in (str(secret), "../secret", "../../../etc/passwd", "sub/encoder.pt", "sub\\encoder.pt",
                 "C:encoder.pt", ".", "..", ""):
        _set_files(folder, {**good, name: _hash(secret)})
        with pytest.raises(ValueError, match=r"config\.json lists the file %s under \"files\"; expected \"files\" "
                           r"to map plain file names in the folder \(no / or \\, not \. or \.\.\)" % re.escape(repr(name))):
            load_pretrained(folder)
    for bad in ("abc", 123, None, good["encoder.pt"].upper(), good["encoder.pt"] + "0"):
        _set_files(folder, {"encoder.pt": bad})
        with pytest.raises(ValueError, match=r"config\.json gives 'encoder\.pt' the SHA-256 %s under \"files\"; "
                           r".*64 lowercase hexadecimal characters" % re.escape(repr(bad))):
            load_pretrained(folder)
    for files in (["encoder.pt"], "encoder.pt", None):
        _set_files(folder, files)
        with pytest.raises(ValueError, match=r"config\.json has files = %s; expected \"files\" to map plain file "
                           % re.escape(repr(files))):
            load_pretrained(folder)
    _set_files(folder, good)
    assert load_pretrained(folder).state_dict.keys()


def test_weight_files_holding_code_damage_or_no_permission_are_told_apart(tmp_path, capsys):
    folder = _tiny_saved_folder(tmp_path / "model")
    good = (folder / "encoder.pt").read_bytes()

    def refused(error, match):
        with pytest.raises(error, match=match) as caught:
            load_pretrained(folder)
        assert "weights_only=False" not in str(caught.value) and "weights_only" not in str(caught.value)
        return caught.value

    # a pickle that would call a function on loading; its hash recorded, so it is unpickled
    torch.save({"embedding.weight": _Payload()}, folder / "encoder.pt")
    _set_files(folder, {"encoder.pt": _hash(folder / "encoder.pt")})
    refused(ValueError, r"encoder\.pt holds objects other than tensors \((builtins\.)?print\), and dnatok loads "
                        r"nothing but tensors: .* may be malicious.* Save the model again\.$")
    assert "pwned" not in capsys.readouterr().out
    # a truncated file
    (folder / "encoder.pt").write_bytes(good[: len(good) // 2])
    _set_files(folder, {"encoder.pt": _hash(folder / "encoder.pt")})
    refused(ValueError, r"Could not read the weights in .*encoder\.pt \(\w+Error: .*\)\. The file is truncated "
                        r"or damaged; save the model again\.$")
    # not a state dict at all
    torch.save([torch.zeros(2)], folder / "encoder.pt")
    _set_files(folder, {"encoder.pt": _hash(folder / "encoder.pt")})
    refused(ValueError, r"encoder\.pt holds a list, not a state dict \(names to tensors\)")
    # a file nobody may read: named as unreadable, on hashing or (without hashes) on loading
    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 0o000 anyway")
    (folder / "encoder.pt").write_bytes(good)
    _set_files(folder, {"encoder.pt": _hash(folder / "encoder.pt")})
    os.chmod(folder / "encoder.pt", 0o000)
    try:
        refused(PermissionError, r"encoder\.pt cannot be read \(Permission denied\); check that it exists and "
                                 r"that you may read it")
        _set_files(folder, {})
        config = json.loads((folder / "config.json").read_text())
        del config["files"]
        (folder / "config.json").write_text(json.dumps(config))
        refused(PermissionError, r"encoder\.pt cannot be read \(Permission denied\)")
    finally:
        os.chmod(folder / "encoder.pt", 0o644)
    assert load_pretrained(folder).state_dict.keys()


def test_released_weight_files_holding_code_are_refused(dnabert2_folder, tmp_path, capfd):
    folder = _copy_folder(dnabert2_folder, tmp_path / "bin", skip={"model.safetensors"})
    state = safetensors_torch.load_file(dnabert2_folder / "model.safetensors")
    torch.save({**state, "bert.pooler.dense.weight": _SystemPayload()}, folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"pytorch_model\.bin holds objects other than tensors \((posix|nt)\.system\)"
                                         r".* Download it again\.$") as caught:
        load_pretrained(folder)
    assert "weights_only" not in str(caught.value)
    assert "pwned" not in capfd.readouterr().out  # os.system writes to the process's stdout


def test_nan_inf_and_integer_weights_are_refused_by_name(tmp_path):
    weight = torch.randn(9, 8)
    weight[0, :2], weight[3, 3] = float("nan"), float("-inf")
    folder = _tiny_saved_folder(tmp_path / "nan", **{"embedding.weight": weight})
    with pytest.raises(ValueError, match=r"encoder\.pt: embedding\.weight holds 2 NaN and 1 inf values \(of 72\); "
                                         r"a model with them outputs NaN .* Save the model again\.$"):
        load_pretrained(folder)
    folder = _tiny_saved_folder(tmp_path / "int", **{"embedding.weight": torch.ones(9, 8, dtype=torch.int64)})
    with pytest.raises(ValueError, match=r"encoder\.pt: embedding\.weight holds int64 values, but it fills a "
                                         r"floating-point weight of the model \(float32, float16 or bfloat16 expected\)"):
        load_pretrained(folder)
    folder = _tiny_saved_folder(tmp_path / "head", head=True, **{"head.net.0.bias": torch.full((8,), float("inf"))})
    with pytest.raises(ValueError, match=r"head\.pt: head\.net\.0\.bias holds 0 NaN and 8 inf values"):
        load_pretrained(folder)
    # half precision is a float like any other
    half = _tiny_saved_folder(tmp_path / "half", **{"embedding.weight": torch.randn(9, 8).half()})
    assert load_pretrained(half).state_dict["embedding.weight"].dtype == torch.float16


def test_released_nan_and_integer_weights_are_refused_by_name(mxdna_folder, dnabert2_folder, tmp_path):
    state = safetensors_torch.load_file(mxdna_folder / "model.safetensors")
    nan = _copy_folder(mxdna_folder, tmp_path / "nan", skip={"model.safetensors"})
    embedding = state["model.embed_tokens.weight"].clone()
    embedding[1, 0] = float("nan")
    safetensors_torch.save_file({**state, "model.embed_tokens.weight": embedding}, nan / "model.safetensors")
    with pytest.raises(ValueError, match=r"model\.safetensors: model\.embed_tokens\.weight holds 1 NaN and 0 inf "
                                         r"values .* Download it again\.$"):
        load_pretrained(nan)
    task_head = safetensors_torch.load_file(mxdna_folder / "task_head.safetensors")
    as_int = _copy_folder(mxdna_folder, tmp_path / "int", skip={"task_head.safetensors"})
    key = sorted(task_head)[0]
    safetensors_torch.save_file({**task_head, key: task_head[key].long()}, as_int / "task_head.safetensors")
    with pytest.raises(ValueError, match=r"task_head\.safetensors: %s holds int64 values, but it fills a "
                                         r"floating-point weight" % re.escape(key)):
        load_pretrained(as_int)
    # the hub's torch format too
    state = safetensors_torch.load_file(dnabert2_folder / "model.safetensors")
    inf = _copy_folder(dnabert2_folder, tmp_path / "inf", skip={"model.safetensors"})
    key = sorted(state)[-1]
    torch.save({**state, key: torch.full_like(state[key], float("inf"))}, inf / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: %s holds 0 NaN and %d inf values"
                                         % (re.escape(key), state[key].numel())):
        load_pretrained(inf)


def test_every_model_weight_is_floating_point():
    # check_weight_values refuses every non-floating tensor because no family has one;
    # a family that adds an integer buffer must teach it which keys may be integers
    from dnatok.nn._family import registered_families

    for family in registered_families():
        for cls in family.module_classes:
            with torch.device("meta"):
                state = cls(vocab_size=9).state_dict()
            assert all(value.is_floating_point() for value in state.values()), cls.__name__
