"""MxDNATokenizer: a tokenization learned by gradient descent (MxDNA, NeurIPS 2024).

``fit`` pretrains an MxDNA masked-language model on the sequences with its
``pretrainer`` (the one masked-LM trainer, :class:`dnatok.training.MaskedLMPretrainer`),
or loads one; the learned tokenization lives in its network. ``transform`` returns
the single-nucleotide ids of the tokenizer contract, and with them the fitted
tokenizer, so that ``MxDNAClassifier`` downstream starts from (a copy of) the
pretrained network and fine-tunes all of it, tokenization included.

It is the top of ``dnatok``: above the torch modules and the training loop, which
is why ``import dnatok`` loads it only when it is first used.
"""

import os
from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import Interval

from ._bpe import BPETokenizer
from ._char import CharTokenizer
from ._sequences import check_sequences, encode_bases
from .nn import MxDNAMaskedLM, PretrainedWeights, family_of, load_pretrained, save_pretrained
from .training import MaskedLMPretrainer

__all__ = ["MxDNATokenizer"]

_MXDNA = family_of(MxDNAMaskedLM)
# sequences of one length tokenized together when the units are read
_INFERENCE_BATCH = 32


def default_pretrainer():
    """MxDNA masked-LM pretraining at small CPU sizes (the paper's sizes are
    ``module__d_model=512, module__n_heads=16, module__n_nucleotide_layers=4,
    module__n_token_layers=16``): d_model 128, 4 heads, 1 nucleotide layer, 2 token
    layers, 10 experts; the training controls are :class:`MaskedLMPretrainer`'s."""
    return MaskedLMPretrainer(module=MxDNAMaskedLM, module__n_token_layers=2)


class MxDNATokenizer(CharTokenizer):
    """Learn how to tokenize DNA by masked-language-model pretraining (MxDNA).

    A sparse mixture of convolution experts picks variable-length basic units
    (1 to ``n_experts`` nucleotides) and a deformable convolution assembles them
    into tokens (see ``dnatok.nn.MxDNAMaskedLM``). ``fit`` trains that network on
    the sequences, labels ignored, or loads a saved one (``pretrained``).

    - ``tokenize(seq)`` gives the learned basic units as DNA substrings
      (deterministic: no router jitter at inference).
    - ``transform(X)`` gives, with ``output="ids"``, the single-nucleotide ids of
      :class:`CharTokenizer` (MxDNA reads nucleotides and tokenizes inside the
      model), carrying this tokenizer and its network to an ``MxDNAClassifier``;
      with ``output="counts"``, counts of the learned units over the units seen
      in ``fit`` (others count as [UNK]).
    - :meth:`tokenization_stats` and :meth:`plot_unit_lengths` show what was
      learned: unit lengths, expert usage, nucleotides per token.

    Parameters
    ----------
    pretrainer : MaskedLMPretrainer or None, default=None
        The (unfitted) estimator that pretrains the network; ``fit`` trains a clone
        of it. None is the default pretrainer: ``MaskedLMPretrainer(module=MxDNAMaskedLM,
        module__n_token_layers=2)``, an MxDNA masked LM at small CPU sizes (d_model 128,
        4 heads, 1 nucleotide layer, 2 token layers, 10 experts; the paper's are 512,
        16, 4, 16, 10), with :class:`MaskedLMPretrainer`'s defaults (10 epochs, AdamW at
        1e-3 with warm-up and cosine decay, load-balancing weight 0.01). Every
        control of the one training loop is there, and reachable from a pipeline
        or a grid: ``MxDNATokenizer(pretrainer=MaskedLMPretrainer(module=MxDNAMaskedLM,
        max_time=60, random_state=0))``, or ``set_params(pretrainer__max_epochs=3,
        pretrainer__module__d_model=64)`` (which makes the default explicit first),
        or ``"mxdnatokenizer__pretrainer__max_epochs": [2, 5]`` in a grid.
    pretrained : str, path-like or None, default=None
        A folder written by :meth:`save_pretrained` or a released MxDNA checkpoint:
        ``fit`` loads it instead of training.
    max_time : float or None, default=None
        Seconds of pretraining at most: the pretrainer's ``max_time``, set here for
        the one-line pipeline (``MxDNATokenizer(max_time=60)``). None leaves the
        pretrainer's own. A pretrainer given with another value is refused.
    random_state : int, RandomState instance or None, default=None
        The pretrainer's ``random_state`` (weights, masking, shuffling), likewise.
    max_length, truncation, output, handle_unknown
        As :class:`CharTokenizer` (lengths in nucleotides). The network accepts
        every width this tokenizer produces.
    add_special_tokens : bool, default=True
        Must stay True with ``output="ids"``: MxDNA reads ``[CLS] x [SEP]``.

    Attributes
    ----------
    model_ : dnatok.nn.MxDNAMaskedLM
        The pretrained network (eval mode, on ``device_``: the pretrainer's device).
    device_ : torch.device
        Where the network runs (the pretrainer's ``device``, also for a loaded one).
    history_ : skorch History
        The pretrainer's history per epoch: ``train_loss`` (masked-LM + weighted
        balancing), ``train_aux_loss``, ``valid_loss`` with early stopping, ``dur``
        (empty when loaded).
    units_ : ndarray of str or None
        With ``output="counts"``, the units seen when tokenizing the fit sequences:
        the counts output's columns (None otherwise, saving an inference pass).

    Examples
    --------
    >>> from dnatok import MxDNATokenizer
    >>> from dnatok.datasets import make_motif_classification
    >>> from dnatok.nn import MxDNAMaskedLM
    >>> from dnatok.training import MaskedLMPretrainer
    >>> X, _ = make_motif_classification(64, length=40, random_state=0)
    >>> pretrainer = MaskedLMPretrainer(module=MxDNAMaskedLM, module__d_model=16, module__n_heads=2,
    ...                                 module__n_token_layers=1, max_epochs=1, random_state=0)
    >>> tokenizer = MxDNATokenizer(pretrainer=pretrainer).fit(X)
    >>> units = tokenizer.tokenize(X[0])
    >>> "".join(units) == X[0]
    True
    """

    _parameter_constraints = {
        **CharTokenizer._parameter_constraints,
        "pretrainer": [MaskedLMPretrainer, None],
        "pretrained": [str, os.PathLike, None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    }
    _requires_fit = True
    network_family = _MXDNA.name

    def __init__(
        self,
        *,
        pretrainer=None,
        pretrained=None,
        max_time=None,
        random_state=None,
        max_length=None,
        truncation=True,
        add_special_tokens=True,
        output="ids",
        handle_unknown="error",
    ):
        super().__init__(
            max_length=max_length, truncation=truncation, add_special_tokens=add_special_tokens,
            output=output, handle_unknown=handle_unknown,
        )
        self.pretrainer = pretrainer
        self.pretrained = pretrained
        self.max_time = max_time
        self.random_state = random_state

    def get_params(self, deep=True):
        """Parameters; with ``deep``, the pretrainer's as ``pretrainer__*`` (the default
        pretrainer's when ``pretrainer`` is None, so a grid or a seed can reach them)."""
        params = super().get_params(deep=deep)
        if deep and self.pretrainer is None:
            params.update({f"pretrainer__{k}": v for k, v in default_pretrainer().get_params(deep=True).items()})
        return params

    def set_params(self, **params):
        """Set parameters; ``pretrainer__*`` with no pretrainer (None) set them on an
        explicit default pretrainer."""
        if params.get("pretrainer", self.pretrainer) is None and any(k.startswith("pretrainer__") for k in params):
            params["pretrainer"] = default_pretrainer()
        return super().set_params(**params)

    # -- fitting ---------------------------------------------------------------------

    def _fit(self, sequences):
        if not self.add_special_tokens and self.output == "ids":
            raise ValueError(
                "MxDNATokenizer(add_special_tokens=False) cannot hand ids to MxDNA: its network "
                "reads [CLS] x1 .. xL [SEP] (it pools the [CLS] token). Keep "
                "add_special_tokens=True, or use output='counts'."
            )
        tokens = self._chars().transform(sequences)
        pretrainer = self._pretrainer()
        # the network runs where the pretrainer trains it, also when it is loaded
        self.device_ = pretrainer._torch_device()
        if self.pretrained is not None:
            model, self.history_ = self._load(), []
        else:
            if not issubclass(pretrainer._module_class(), MxDNAMaskedLM):
                raise ValueError(
                    f"MxDNATokenizer's pretrainer trains {pretrainer._module_class().__name__}, not an MxDNA "
                    f"masked LM; use MaskedLMPretrainer(module=MxDNAMaskedLM, ...)."
                )
            pretrainer.fit(tokens)
            model, self.history_ = pretrainer.module_, pretrainer.history
        self.model_ = model.to(self.device_).eval()
        self.n_sequences_fit_ = len(sequences)
        self.units_ = None
        if self.output == "counts":  # one inference pass over the data, only when needed
            units = [unit for row in self._units(sequences)[0] for unit in row]
            self.units_ = np.unique(np.asarray(units, dtype=str))

    def _pretrainer(self):
        """A fresh pretrainer: the given one (or the default), with this tokenizer's
        ``max_time`` and ``random_state`` where they are set."""
        pretrainer = default_pretrainer() if self.pretrainer is None else clone(self.pretrainer)
        shortcuts = {"max_time": self.max_time, "random_state": self.random_state}
        for name, value in shortcuts.items():
            if value is None:
                continue
            own = getattr(pretrainer, name)
            if self.pretrainer is not None and own is not None and own != value:
                raise ValueError(
                    f"MxDNATokenizer({name}={value!r}) disagrees with its pretrainer's "
                    f"{name}={own!r}; set it in one place (MxDNATokenizer({name}=...) or "
                    f"pretrainer__{name}=...)."
                )
            pretrainer.set_params(**{name: value})
        return pretrainer

    def _load(self):
        pretrained = load_pretrained(self.pretrained)
        if pretrained.family != _MXDNA.name:
            raise ValueError(
                f"{self.pretrained} holds a {pretrained.family!r} model, not an MxDNA one."
            )
        model = MxDNAMaskedLM(**pretrained.config)
        model.encoder.load_state_dict(pretrained.state_dict)
        if pretrained.head_state_dict is not None:
            model.load_state_dict(pretrained.head_state_dict, strict=False)
        return model

    # -- the learned units -----------------------------------------------------------

    @torch.no_grad()
    def _units(self, sequences, batch_size=None):
        """Units of every sequence (list of lists of str) and their expert indices.

        Whole sequences (no truncation), batched only with sequences of the same
        length: no padding ever enters, so a sequence's units are the same alone
        as beside any other (padded batches change float rounding, which can flip a
        near-tie in the greedy selection).
        """
        encode_bases(sequences, self.handle_unknown)  # bad characters named by their index in X
        chars = CharTokenizer(handle_unknown=self.handle_unknown)
        batch_size = batch_size or _INFERENCE_BATCH
        letters = np.array(list("NNNNNATCG"))  # id -> letter; specials never inside a unit
        units, experts = [None] * len(sequences), [None] * len(sequences)
        lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
        order = np.argsort(lengths, kind="stable")
        starts = np.flatnonzero(np.diff(lengths[order], prepend=-1))  # where a new length begins
        for group in np.split(order, starts[1:]):
            for first in range(0, len(group), batch_size):
                rows = group[first:first + batch_size]
                # equal lengths: tokenized together they need no padding at all
                batch_ids = torch.as_tensor(chars.transform([sequences[i] for i in rows])["input_ids"]).to(self.device_)
                out = self.model_.encoder.tokenize(batch_ids, torch.ones_like(batch_ids, dtype=torch.bool))
                centre = out.unit_centre.cpu().numpy()
                expert = out.unit_expert.cpu().numpy()
                text = letters[batch_ids.cpu().numpy()]
                for row, row_centre, row_expert, row_text in zip(rows, centre, expert, text):
                    inside = np.flatnonzero(row_centre >= 0)
                    # a unit ends where the covering centre changes
                    cuts = np.flatnonzero(np.diff(row_centre[inside])) + 1
                    pieces = np.split(row_text[inside], cuts) if inside.size else []
                    units[row] = ["".join(piece) for piece in pieces]
                    experts[row] = row_expert[row_expert >= 0].astype(np.int64)
        return units, experts

    def tokenize(self, sequence):
        """The learned basic units of one sequence, as DNA substrings (upper case)."""
        self._check_ready()
        if not isinstance(sequence, str):
            raise TypeError(
                f"tokenize takes one sequence as a str, got {type(sequence).__name__}; "
                f"use transform for a collection of sequences."
            )
        units, _ = self._units([sequence])
        return units[0]

    def _chars(self):
        return CharTokenizer(max_length=self.max_length, truncation=self.truncation, handle_unknown=self.handle_unknown)

    def transform(self, X):
        """Single-nucleotide ids carrying the network (``output="ids"``), or unit counts.

        See :meth:`CharTokenizer.transform` for the ids output.
        """
        if self.output != "counts":
            return super().transform(X)
        self._check_ready()
        self._check_unit_vocabulary()
        units, _ = self._units(check_sequences(X))
        columns = {unit: i + 1 for i, unit in enumerate(self.units_)}  # column 0 is [UNK]
        indices = [columns.get(unit, 0) for row in units for unit in row]
        indptr = np.zeros(len(units) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in units], out=indptr[1:])
        counts = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.int64), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(units), len(self.units_) + 1),
        )
        counts.sum_duplicates()
        return counts

    def get_feature_names_out(self, input_features=None):
        """Columns of the counts output: [UNK], then the units seen in ``fit``."""
        self._check_ready()
        if self.output != "counts":
            raise AttributeError("get_feature_names_out is available with output='counts' only.")
        self._check_unit_vocabulary()
        return np.asarray(["[UNK]", *self.units_], dtype=object)

    def _check_unit_vocabulary(self):
        if self.units_ is None:
            raise ValueError(
                "The counts output needs the units seen in fit, which are only collected when "
                "fitting with output='counts'. Refit with output='counts'."
            )

    # -- what was learned --------------------------------------------------------------

    def tokenization_stats(self, X):
        """How the fitted network tokenizes X.

        Returns
        -------
        stats : dict
            ``unit_length_distribution`` (fraction of units of each length
            1 .. n_experts), ``expert_usage`` (fraction of nucleotides each expert
            reads), ``nucleotides_per_token`` (mean unit length: the compression),
            ``n_units`` and ``n_nucleotides``.
        """
        self._check_ready()
        _, experts = self._units(check_sequences(X))
        expert = np.concatenate(experts) if experts else np.zeros(0, dtype=np.int64)
        n_experts = self.model_.encoder.tokenization.n_experts
        per_length = np.bincount(expert, minlength=n_experts).astype(float)
        nucleotides = per_length * np.arange(1, n_experts + 1)
        return {
            "unit_length_distribution": per_length / max(per_length.sum(), 1),
            "expert_usage": nucleotides / max(nucleotides.sum(), 1),
            "nucleotides_per_token": nucleotides.sum() / max(per_length.sum(), 1),
            "n_units": int(per_length.sum()),
            "n_nucleotides": int(nucleotides.sum()),
        }

    def plot_unit_lengths(self, X, bpe=None, ax=None):
        """Bar chart of unit lengths against BPE token lengths (the paper's Figure 4).

        Parameters
        ----------
        X : iterable of str
            Sequences to tokenize with both.
        bpe : fitted BPETokenizer or None
            None fits ``BPETokenizer(vocab_size=4096)`` on X.
        ax : matplotlib Axes or None

        Returns
        -------
        ax : matplotlib Axes

        Notes
        -----
        Needs matplotlib (``pip install dnatok[plot]``).
        """
        import matplotlib.pyplot as plt

        sequences = check_sequences(X)
        ours = self.tokenization_stats(sequences)["unit_length_distribution"]
        bpe = bpe if bpe is not None else BPETokenizer(vocab_size=4096).fit(sequences)
        bpe_lengths = np.array([len(t) for s in sequences for t in bpe.tokenize(s) if t != "[UNK]"])
        longest = max(len(ours), int(bpe_lengths.max(initial=1)))
        bpe_share = np.bincount(bpe_lengths, minlength=longest + 1)[1:] / max(len(bpe_lengths), 1)
        lengths = np.arange(1, longest + 1)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        ax.bar(lengths - 0.2, np.pad(ours, (0, longest - len(ours))), width=0.4, label="MxDNA units")
        ax.bar(lengths + 0.2, bpe_share, width=0.4, label=f"BPE ({bpe.get_vocab_size()} tokens)")
        ax.set_xlabel("token length (nucleotides)")
        ax.set_ylabel("fraction of tokens")
        ax.set_xticks(lengths)
        ax.legend()
        return ax

    # -- hand-off and saving -----------------------------------------------------------

    def get_pretrained(self):
        """The fitted network (encoder of the MLM model) as :class:`dnatok.nn.PretrainedWeights`."""
        self._check_ready()
        config = dict(self.model_.encoder_config)
        state = {k: v.detach().cpu().clone() for k, v in self.model_.encoder.state_dict().items()}
        return PretrainedWeights(_MXDNA.name, config, state, type(self).__name__, self.get_vocab_fingerprint())

    def save_pretrained(self, path):
        """Save the whole pretrained MLM network (config.json + weights) to a folder.

        ``MxDNATokenizer(pretrained=path).fit(X)`` loads it back; an
        ``MxDNAClassifier`` can start from it too.
        """
        pretrained = self.get_pretrained()
        pretrained.head_state_dict = {
            k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items() if not k.startswith("encoder.")
        }
        save_pretrained(pretrained, path)

    def get_vocab_fingerprint(self):
        """The nucleotide vocabulary's fingerprint (the ids are CharTokenizer's)."""
        return CharTokenizer.get_vocab_fingerprint(self)
