"""Reading checkpoints in their authors' layouts: DNABERT-2's hub folder, MxDNA's.

A released model is a folder with the authors' ``config.json`` and weights
(``model.safetensors``, or ``pytorch_model.bin`` read with ``weights_only=True``).
These functions turn one into a :class:`PretrainedEncoder`, the same thing
``save_pretrained`` folders and fitted estimators give, so that every estimator's
``pretrained=`` takes it. Key names are mapped explicitly, and a checkpoint whose
keys or shapes do not match the architecture is refused, naming the keys.
"""

import json
import re
from pathlib import Path

import torch

from ._pretrained import PretrainedEncoder, load_weight_file

__all__ = ["load_dnabert2", "load_mxdna", "official_family", "read_weights"]

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def official_family(config):
    """Which released model a parsed ``config.json`` describes: "dnabert2", "mxdna" or None."""
    if config.get("model_type") == "mxdna":
        return "mxdna"
    auto_map = json.dumps(config.get("auto_map", {}))
    if "alibi_starting_size" in config or "bert_layers." in auto_map:
        return "dnabert2"
    return None


def read_weights(folder):
    """The state dict in ``folder``: ``model.safetensors``, else ``pytorch_model.bin``.

    Raises
    ------
    FileNotFoundError
        When neither file is there.
    ValueError
        When the file is truncated or not a weight file.
    """
    folder = Path(folder)
    for name in _WEIGHT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        return load_weight_file(path, remedy="download it again")
    raise FileNotFoundError(
        f"{folder} holds no weights: expected {' or '.join(_WEIGHT_FILES)} beside config.json."
    )


def _check_keys(what, state_dict, model_state):
    """Refuse a checkpoint that does not fill ``model_state`` exactly."""
    missing = sorted(set(model_state) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(model_state))
    wrong = sorted(k for k in set(state_dict) & set(model_state) if state_dict[k].shape != model_state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected {_few(unexpected)}")
        if wrong:
            parts.append("wrong shapes " + _few(
                [f"{k} {tuple(state_dict[k].shape)} (config: {tuple(model_state[k].shape)})" for k in wrong]))
        raise ValueError(
            f"The {what} weights do not match their config.json: {'; '.join(parts)}. Is the "
            f"folder's config.json the one these weights were saved with?"
        )


def _few(names, n=5):
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


# -- DNABERT-2 ---------------------------------------------------------------------------

# official key (after the "bert." prefix) -> dnatok encoder key
_DNABERT2_ENCODER_KEYS = [
    (r"embeddings\.word_embeddings\.(\w+)", r"embedding.\1"),
    (r"embeddings\.token_type_embeddings\.(\w+)", r"token_type_embedding.\1"),
    (r"embeddings\.LayerNorm\.(\w+)", r"embedding_norm.\1"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.Wqkv\.(\w+)", r"blocks.\1.attention.qkv.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(\w+)", r"blocks.\1.attention.output.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(\w+)", r"blocks.\1.attention_norm.\2"),
    (r"encoder\.layer\.(\d+)\.mlp\.gated_layers\.(\w+)", r"blocks.\1.feed_forward.gated.\2"),
    (r"encoder\.layer\.(\d+)\.mlp\.wo\.(\w+)", r"blocks.\1.feed_forward.wo.\2"),
    (r"encoder\.layer\.(\d+)\.mlp\.layernorm\.(\w+)", r"blocks.\1.feed_forward_norm.\2"),
]
# official key -> key of a dnatok DNABERT-2 model outside its encoder
_DNABERT2_HEAD_KEYS = [
    (r"(?:bert\.)?pooler\.dense\.(\w+)", r"pooler.\1"),
    (r"classifier\.(\w+)", r"head.\1"),
    (r"cls\.predictions\.transform\.dense\.(\w+)", r"transform.\1"),
    (r"cls\.predictions\.transform\.LayerNorm\.(\w+)", r"transform_norm.\1"),
    (r"cls\.predictions\.decoder\.bias", r"decoder_bias"),
]
# the decoder weight is the embedding matrix (tied); the hub .bin stores it twice
_DNABERT2_TIED = "cls.predictions.decoder.weight"


def dnabert2_encoder_config(config):
    """dnatok ``DNABERT2Encoder`` arguments from DNABERT-2's ``config.json``."""
    return dict(
        vocab_size=config["vocab_size"],
        d_model=config["hidden_size"],
        n_layers=config["num_hidden_layers"],
        n_heads=config["num_attention_heads"],
        d_ff=config["intermediate_size"],
        dropout=config.get("hidden_dropout_prob", 0.1),
        attention_dropout=config.get("attention_probs_dropout_prob", 0.0),
        type_vocab_size=config.get("type_vocab_size", 2),
        norm_eps=config.get("layer_norm_eps", 1e-12),
        pad_token_id=3 if config.get("pad_token_id") is None else config["pad_token_id"],
    )


def map_dnabert2_keys(state_dict):
    """Split an official DNABERT-2 state dict into dnatok encoder and head state dicts.

    Takes the keys of ``BertForMaskedLM`` (the hub's ``pytorch_model.bin``),
    ``BertForSequenceClassification`` or ``BertModel``.

    Returns
    -------
    encoder : dict
    head : dict
        Pooler, classifier and masked-LM head weights present, under the key names
        of :class:`DNABERT2ClassificationModel` / :class:`DNABERT2MaskedLM`.
    """
    encoder, head, unknown = {}, {}, []
    for key, value in state_dict.items():
        if key == _DNABERT2_TIED:
            continue
        new = _rename(key.removeprefix("bert."), _DNABERT2_ENCODER_KEYS)
        if new is not None:
            encoder[new] = value
            continue
        new = _rename(key, _DNABERT2_HEAD_KEYS)
        if new is None:
            unknown.append(key)
        else:
            head[new] = value
    if unknown:
        raise ValueError(f"Unexpected keys in a DNABERT-2 checkpoint: {_few(sorted(unknown))}.")
    return encoder, head


def _rename(key, table):
    for pattern, replacement in table:
        match = re.fullmatch(pattern, key)
        if match:
            return match.expand(replacement)
    return None


def load_dnabert2(folder, state_dict=None):
    """A :class:`PretrainedEncoder` from a DNABERT-2 folder in the hub layout.

    The folder holds ``config.json``, ``model.safetensors`` or ``pytorch_model.bin``
    and ``tokenizer.json`` (the vocabulary the model reads; tokenize with
    ``BPETokenizer(pretrained=folder)``). The head state dict holds whichever of the
    masked-LM head, pooler and classifier the checkpoint has.
    """
    from ._dnabert2 import DNABERT2Encoder

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(
            f"{folder} has no tokenizer.json; a DNABERT-2 folder needs the tokenizer its "
            f"model was trained with (the hub folder has it)."
        )
    encoder_config = dnabert2_encoder_config(config)
    encoder, head = map_dnabert2_keys(read_weights(folder) if state_dict is None else state_dict)
    with torch.device("meta"):  # shapes only, no memory
        expected = DNABERT2Encoder(**encoder_config).state_dict()
    _check_keys("DNABERT-2 encoder", encoder, expected)
    from dnatok._bpe import _fingerprint, _load

    return PretrainedEncoder(
        "dnabert2", encoder_config, encoder, "BPETokenizer", _fingerprint(_load(tokenizer_file)), head
    )


# -- MxDNA ---------------------------------------------------------------------------------

# the same block layout everywhere: official key suffix -> dnatok TransformerBlock key
_MXDNA_BLOCK = [
    (r"(?:self_attn|cross_attn)\.projection_q\.weight", "attention.query.weight"),
    (r"(?:self_attn|cross_attn)\.projection_k\.weight", "attention.key.weight"),
    (r"(?:self_attn|cross_attn)\.projection_v\.weight", "attention.value.weight"),
    (r"(?:self_attn|cross_attn)\.projection_o\.weight", "attention.output.weight"),
    (r"input_layernorm\.norm\.(\w+)", r"attention_norm.\1"),
    (r"post_attention_layernorm\.norm\.(\w+)", r"ffn_norm.\1"),
    (r"ffn\.ffn\.w1\.weight", "ffn.gate.weight"),
    (r"ffn\.ffn\.w3\.weight", "ffn.up.weight"),
    (r"ffn\.ffn\.w2\.weight", "ffn.down.weight"),
]
_MXDNA_TOKENIZATION = [
    (r"input_layernorm\.norm\.(\w+)", r"norm.\1"),
    (r"gate\.weight", "router.weight"),
    (r"conv_moe\.experts\.(\d+)\.pointwise_conv_pre\.weight", r"experts.\1.expand.weight"),
    (r"conv_moe\.experts\.(\d+)\.depthwise_conv\.weight", r"experts.\1.conv.weight"),
    (r"conv_moe\.experts\.(\d+)\.norm\.norm\.(\w+)", r"experts.\1.norm.\2"),
    (r"conv_moe\.experts\.(\d+)\.pointwise_conv_post\.weight", r"experts.\1.project.weight"),
    (r"deform_conv\.input_layernorm\.norm\.(\w+)", r"assembly.norm.\1"),
    (r"deform_conv\.offset_conv\.(\w+)", r"assembly.offset.\1"),
    (r"deform_conv\.modulator_conv\.(\w+)", r"assembly.modulation.\1"),
    (r"deform_conv\.regular_conv\.weight", "assembly.weight"),
]
# outside the encoder, under the names of MxDNAMaskedLM / MxDNAClassificationModel
_MXDNA_HEAD = [
    (r"norm\.norm\.(\w+)", r"norm.\1"),
    (r"lm_head\.dense\.(\w+)", r"head.net.0.\1"),
    (r"lm_head\.layer_norm\.(\w+)", r"head.net.2.\1"),
    (r"lm_head\.decoder\.weight", "head.net.3.weight"),
    (r"lm_head\.bias", "head.net.3.bias"),
    (r"task_head\.dense\.(\w+)", r"head.net.1.\1"),
    (r"task_head\.out_proj\.(\w+)", r"head.net.4.\1"),
]
#: official keys no forward pass reads; skipped on purpose
MXDNA_UNUSED_KEYS = ("model.conversion_layer.motif_masked_token_embedding",)


def mxdna_encoder_config(config):
    """dnatok ``MxDNAEncoder`` arguments from an official MxDNA ``config.json``.

    Raises ValueError for settings dnatok's MxDNA does not implement (expert
    kernels other than 1..n, grouped-query attention, several experts per unit).
    """
    n_experts = config["num_local_experts"]
    unsupported = []
    if list(config.get("expert_kernel_sizes", range(1, n_experts + 1))) != list(range(1, n_experts + 1)):
        unsupported.append(f"expert_kernel_sizes={config['expert_kernel_sizes']} (dnatok: 1..num_local_experts)")
    if config.get("num_key_value_heads", config["num_attention_heads"]) != config["num_attention_heads"]:
        unsupported.append("num_key_value_heads != num_attention_heads")
    for key, value in (("num_experts_per_tok", 1), ("num_motif_groups", 1), ("layer_norm_eps", 1e-5)):
        if config.get(key, value) != value:
            unsupported.append(f"{key}={config[key]} (dnatok: {value})")
    if unsupported:
        raise ValueError(f"This MxDNA config uses settings dnatok does not implement: {'; '.join(unsupported)}.")
    n_nucleotide_layers = config["conversion_layer_idx"]
    return dict(
        vocab_size=config["vocab_size"],
        d_model=config["hidden_size"],
        n_heads=config["num_attention_heads"],
        d_ff=config["intermediate_size"],
        n_nucleotide_layers=n_nucleotide_layers,
        # num_hidden_layers counts the tokenization layer too
        n_token_layers=config["num_hidden_layers"] - n_nucleotide_layers - 1,
        n_experts=n_experts,
        deformable_kernel_size=config.get("deformable_conv_kernel_size", 3),
        jitter=config.get("router_jitter_noise", 0.01),
        expert_gain=1.0,  # the authors' mixture: probability times expert output
        dropout=config.get("attention_dropout", 0.0),
        max_length=None,
        pad_token_id=config.get("pad_token_id", 0),
        cls_token_id=config.get("cls_token_id", 2),
        sep_token_id=config.get("sep_token_id", 3),
        rotary_theta=config.get("rope_theta", 10000.0),
        conv_kernel_size=0,  # the released model has no convolution stem
    )


def map_mxdna_keys(state_dict):
    """Split an official MxDNA state dict into dnatok encoder and head state dicts.

    Returns
    -------
    encoder : dict
    head : dict
        The decoder block, top-level norm, masked-LM head and task head present, under
        :class:`MxDNAMaskedLM` / :class:`MxDNAClassificationModel` names.
    """
    encoder, head, unknown = {}, {}, []
    for key, value in state_dict.items():
        if key in MXDNA_UNUSED_KEYS:
            continue
        new = _mxdna_rename(key)
        if new is None:
            unknown.append(key)
        elif new[0] == "encoder":
            encoder[new[1]] = value
        else:
            head[new[1]] = value
    if unknown:
        raise ValueError(f"Unexpected keys in an MxDNA checkpoint: {_few(sorted(unknown))}.")
    name = "tokenization.assembly.weight"
    if name in encoder and encoder[name].dim() == 4:
        encoder[name] = encoder[name].squeeze(-1)  # torchvision's (d, d, f, 1) 2-D kernel
    return encoder, head


def _mxdna_rename(key):
    """("encoder" | "head", dnatok key) for an official key, or None."""
    simple = {"model.embed_tokens.weight": "embedding.weight"}
    if key in simple:
        return "encoder", simple[key]
    if key.startswith("model.norm."):
        return "encoder", _rename(key.removeprefix("model."), [(r"norm\.norm\.(\w+)", r"norm.\1")])
    for official, ours in (("model.nucleotide_layers.", "nucleotide_layers."), ("model.motif_layers.", "token_layers.")):
        if key.startswith(official):
            index, rest = key.removeprefix(official).split(".", 1)
            new = _rename(rest, _MXDNA_BLOCK)
            return None if new is None else ("encoder", f"{ours}{index}.{new}")
    if key.startswith("model.conversion_layer."):
        new = _rename(key.removeprefix("model.conversion_layer."), _MXDNA_TOKENIZATION)
        return None if new is None else ("encoder", f"tokenization.{new}")
    if key.startswith("decoder."):
        new = _rename(key.removeprefix("decoder."), _MXDNA_BLOCK)
        return None if new is None else ("head", f"decoder.{new}")
    new = _rename(key, _MXDNA_HEAD)
    return None if new is None else ("head", new)


def load_mxdna(folder, state_dict=None):
    """A :class:`PretrainedEncoder` from a folder in the official MxDNA layout.

    The folder holds the official ``config.json`` and ``model.safetensors`` (the
    released ``ckpt``); a fine-tuned classifier's ``task_head.*`` weights are read
    from the same file or from ``task_head.safetensors`` beside it. Inputs are
    single nucleotides in the official vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK] A
    T C G, dnatok's :class:`CharTokenizer`); a ``vocab.txt`` there must say the same.
    """
    from dnatok import CharTokenizer

    from ._mxdna import MxDNAEncoder

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    encoder_config = mxdna_encoder_config(config)
    if state_dict is None:
        state_dict = dict(read_weights(folder))
        task_head = folder / "task_head.safetensors"
        if task_head.is_file():
            from safetensors.torch import load_file

            state_dict.update(load_file(str(task_head), device="cpu"))
    nucleotides = CharTokenizer()
    vocab_file = folder / "vocab.txt"
    if vocab_file.is_file():
        tokens = vocab_file.read_text().split()
        ours = sorted(nucleotides.get_vocab(), key=nucleotides.get_vocab().get)
        if tokens != ours:
            raise ValueError(
                f"{vocab_file} lists {tokens}, but dnatok's MxDNA reads {ours} (CharTokenizer); "
                f"this model was trained on another vocabulary."
            )
    encoder, head = map_mxdna_keys(state_dict)
    with torch.device("meta"):
        expected = MxDNAEncoder(**encoder_config).state_dict()
    _check_keys("MxDNA encoder", encoder, expected)
    return PretrainedEncoder(
        "mxdna", encoder_config, encoder, "CharTokenizer", nucleotides.get_vocab_fingerprint(), head
    )
