"""MxDNA as a dnatok model family: its released checkpoint and the inputs it reads.

The modules are in :mod:`dnatok.nn._mxdna`; here are the official key map and
config conversion (the authors' ``config.json`` + ``model.safetensors``), and the
family's registration (``MXDNA_FAMILY``).
"""

from pathlib import Path

from .._char import CharTokenizer
from ._config import Count, Dim, Setting, check_config, check_encoder_weights, few
from ._family import ModelFamily, register_family
from ._mxdna import MxDNAClassificationModel, MxDNAEncoder, MxDNAMaskedLM
from ._stem import saved_before_stem
from ._weights import (
    PretrainedWeights, load_weight_file, read_config, read_weights, released_weights_file, rename_key, weight_shapes,
)

__all__ = ["MXDNA_FAMILY", "MXDNA_UNUSED_KEYS", "load_mxdna", "map_mxdna_keys", "mxdna_encoder_config"]

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


# what each MxDNAEncoder argument may be, and the official config.json key it comes from
_SETTINGS = dict(
    vocab_size=Setting(int, minimum=1), d_model=Setting(int, minimum=2), n_heads=Setting(int, minimum=1),
    d_ff=Setting(int, minimum=1, optional=True), n_nucleotide_layers=Setting(int, minimum=0),
    n_token_layers=Setting(int, minimum=0), n_experts=Setting(int, minimum=1),
    deformable_kernel_size=Setting(int, minimum=1), jitter=Setting(float, minimum=0),
    expert_gain=Setting(float, above=0), dropout=Setting(float, minimum=0, maximum=1),
    max_length=Setting(int, minimum=1, optional=True), pad_token_id=Setting(int, minimum=0),
    cls_token_id=Setting(int, minimum=0), sep_token_id=Setting(int, minimum=0),
    rotary_theta=Setting(float, above=0), conv_kernel_size=Setting(int, minimum=0), compact=Setting(bool),
)
_OFFICIAL_NAMES = dict(
    vocab_size="vocab_size", d_model="hidden_size", n_heads="num_attention_heads", d_ff="intermediate_size",
    n_nucleotide_layers="conversion_layer_idx", n_experts="num_local_experts",
    # num_hidden_layers counts the tokenization layer too
    n_token_layers="num_hidden_layers - conversion_layer_idx - 1",
    deformable_kernel_size="deformable_conv_kernel_size", jitter="router_jitter_noise",
    dropout="attention_dropout", pad_token_id="pad_token_id", cls_token_id="cls_token_id",
    sep_token_id="sep_token_id", rotary_theta="rope_theta",
)
_OFFICIAL_SETTINGS = {
    **{official: _SETTINGS[key] for key, official in _OFFICIAL_NAMES.items() if key != "n_token_layers"},
    "num_hidden_layers": Setting(int, minimum=1), "num_key_value_heads": Setting(int, minimum=1),
    "num_experts_per_tok": Setting(int, minimum=1), "num_motif_groups": Setting(int, minimum=1),
    "layer_norm_eps": Setting(float, above=0),
}
_OFFICIAL_REQUIRED = ("vocab_size", "hidden_size", "num_attention_heads", "intermediate_size",
                      "conversion_layer_idx", "num_hidden_layers", "num_local_experts")


def mxdna_encoder_config(config, file="config.json"):
    """dnatok ``MxDNAEncoder`` arguments from an official MxDNA ``config.json``.

    Every value is checked first (types, ranges, required keys; a ValueError names
    ``file``, the key and the value). Raises ValueError for settings dnatok's MxDNA
    does not implement (expert kernels other than 1..n, grouped-query attention,
    several experts per unit).
    """
    check_config(file, config, _OFFICIAL_SETTINGS, required=_OFFICIAL_REQUIRED)
    n_experts = config["num_local_experts"]
    unsupported = []
    kernels = config.get("expert_kernel_sizes")
    # compared item by item, never by building range(n_experts): that is the file's to set
    if kernels is not None and (not isinstance(kernels, list) or len(kernels) != n_experts
                                or kernels != list(range(1, len(kernels) + 1))):
        unsupported.append(f"expert_kernel_sizes={kernels!r} (dnatok: 1..num_local_experts)")
    if config.get("num_key_value_heads", config["num_attention_heads"]) != config["num_attention_heads"]:
        unsupported.append("num_key_value_heads != num_attention_heads")
    for key, value in (("num_experts_per_tok", 1), ("num_motif_groups", 1), ("layer_norm_eps", 1e-5)):
        if config.get(key, value) != value:
            unsupported.append(f"{key}={config[key]} (dnatok: {value})")
    if unsupported:
        raise ValueError(f"{file}: this MxDNA config uses settings dnatok does not implement: {'; '.join(unsupported)}.")
    encoder_config = _encoder_config(config)
    check_config(file, encoder_config, _SETTINGS, names=_OFFICIAL_NAMES)  # derived sizes, ids in range
    return encoder_config


def _encoder_config(config):
    n_nucleotide_layers = config["conversion_layer_idx"]
    return dict(
        vocab_size=config["vocab_size"],
        d_model=config["hidden_size"],
        n_heads=config["num_attention_heads"],
        d_ff=config["intermediate_size"],
        n_nucleotide_layers=n_nucleotide_layers,
        # num_hidden_layers counts the tokenization layer too
        n_token_layers=config["num_hidden_layers"] - n_nucleotide_layers - 1,
        n_experts=config["num_local_experts"],
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
        new = _mxdna_rename_key(key)
        if new is None:
            unknown.append(key)
        elif new[0] == "encoder":
            encoder[new[1]] = value
        else:
            head[new[1]] = value
    if unknown:
        raise ValueError(f"Unexpected keys in an MxDNA checkpoint: {few(sorted(unknown))}.")
    name = "tokenization.assembly.weight"
    if name in encoder and encoder[name].dim() == 4:
        encoder[name] = encoder[name].squeeze(-1)  # torchvision's (d, d, f, 1) 2-D kernel
    return encoder, head


def _mxdna_rename_key(key):
    """("encoder" | "head", dnatok key) for an official key, or None."""
    simple = {"model.embed_tokens.weight": "embedding.weight"}
    if key in simple:
        return "encoder", simple[key]
    if key.startswith("model.norm."):
        return "encoder", rename_key(key.removeprefix("model."), [(r"norm\.norm\.(\w+)", r"norm.\1")])
    for official, ours in (("model.nucleotide_layers.", "nucleotide_layers."), ("model.motif_layers.", "token_layers.")):
        if key.startswith(official):
            index, rest = key.removeprefix(official).split(".", 1)
            new = rename_key(rest, _MXDNA_BLOCK)
            return None if new is None else ("encoder", f"{ours}{index}.{new}")
    if key.startswith("model.conversion_layer."):
        new = rename_key(key.removeprefix("model.conversion_layer."), _MXDNA_TOKENIZATION)
        return None if new is None else ("encoder", f"tokenization.{new}")
    if key.startswith("decoder."):
        new = rename_key(key.removeprefix("decoder."), _MXDNA_BLOCK)
        return None if new is None else ("head", f"decoder.{new}")
    new = rename_key(key, _MXDNA_HEAD)
    return None if new is None else ("head", new)


def load_mxdna(folder, state_dict=None):
    """A :class:`PretrainedWeights` from a folder in the official MxDNA layout.

    The folder holds the official ``config.json`` and ``model.safetensors`` (the
    released ``ckpt``); a fine-tuned classifier's ``task_head.*`` weights are read
    from the same file or from ``task_head.safetensors`` beside it. Inputs are
    single nucleotides in the official vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK] A
    T C G, dnatok's :class:`CharTokenizer`); a ``vocab.txt`` there must say the same.
    """
    folder = Path(folder)
    config_file = folder / "config.json"
    encoder_config = mxdna_encoder_config(read_config(folder), config_file)
    task_head = folder / "task_head.safetensors"
    if state_dict is None:
        weights_file = released_weights_file(folder)
        shapes = weight_shapes(weights_file)  # the header alone: checked before anything is read
        if task_head.is_file():
            shapes.update(weight_shapes(task_head))
    else:
        weights_file, shapes = "the given state dict", state_dict
    check_encoder_weights(MXDNA_FAMILY, config_file, weights_file, encoder_config, map_mxdna_keys(shapes)[0],
                          _OFFICIAL_NAMES)
    if state_dict is None:
        state_dict = dict(read_weights(folder))
        if task_head.is_file():
            state_dict.update(load_weight_file(task_head, remedy="download it again"))
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
    return PretrainedWeights(
        MXDNA_FAMILY.name, encoder_config, encoder, "CharTokenizer", nucleotides.get_vocab_fingerprint(), head
    )


_NUCLEOTIDES = CharTokenizer().get_vocab_fingerprint()


def _check_mxdna_input(X, estimator_name):
    """MxDNA reads ``[CLS] x1 .. xL [SEP]`` in single nucleotides."""
    if X.vocab_fingerprint != _NUCLEOTIDES:
        raise ValueError(
            f"{estimator_name} reads single nucleotides, but got {X.tokenizer_name} output. Put an "
            f"MxDNATokenizer first (or a CharTokenizer, with pretrained=None)."
        )
    if not X.starts_with_cls:
        raise ValueError(
            f"{estimator_name} reads [CLS] x1 .. xL [SEP], but the {X.tokenizer_name} output has no "
            f"[CLS] first; tokenize with add_special_tokens=True."
        )


#: MxDNA as a dnatok model family: single nucleotides in, head names as released
MXDNA_FAMILY = register_family(ModelFamily(
    name="mxdna",
    encoder=MxDNAEncoder,
    models={"classifier": MxDNAClassificationModel, "regressor": MxDNAClassificationModel,
            "masked_lm": MxDNAMaskedLM},
    data_parameters=("vocab_size", "pad_token_id", "cls_token_id", "sep_token_id"),
    check_input=_check_mxdna_input,
    is_official=lambda config: config.get("model_type") == "mxdna",
    read_official=load_mxdna,
    update_config=saved_before_stem,
    loads_pretrained_head=True,
    settings=_SETTINGS,
    weight_sizes=dict(
        n_nucleotide_layers=Count(r"nucleotide_layers\.(\d+)\.", "nucleotide layers"),
        n_token_layers=Count(r"token_layers\.(\d+)\.", "token layers"),
        n_experts=Count(r"tokenization\.experts\.(\d+)\.", "convolution experts"),
        vocab_size=Dim("embedding.weight", 0, "embedding rows"),
        d_model=Dim("embedding.weight", 1, "embedding columns"),
    ),
))
