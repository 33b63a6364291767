"""The hand-off from a tokenizer to a neural estimator."""

__all__ = ["TokenizedSequences"]


class TokenizedSequences(dict):
    """Padded token ids of a batch of sequences, with what a model needs to size itself.

    This is what every dnatok tokenizer's ``transform`` returns with
    ``output="ids"``. It is a ``dict`` with two arrays, so that skorch passes them
    to a module's ``forward(input_ids, attention_mask)`` as keyword arguments and
    slices them for batches, and it carries the fitted tokenizer that produced it.
    An estimator downstream in a pipeline reads from it:

    - ``vocab_size`` and the special token ids, to build its embedding and to
      choose tokens to mask;
    - ``tokenizer_name`` and ``vocab_fingerprint``, to check at predict time that
      the same vocabulary is used as at fit time;
    - ``tokenizer``, the fitted tokenizer itself, for anything else: a tokenizer
      whose state is a trained network (MxDNA) hands that network over this way,
      and ``network_family`` names that network's model family (None for
      rule-based tokenizers).

    Slicing a batch (as skorch does) returns a plain dict of the sliced arrays;
    the metadata stays on the full object.

    Parameters
    ----------
    input_ids : ndarray of int32, shape (n_sequences, max_length)
        Token ids, right-padded with the tokenizer's [PAD] id.
    attention_mask : ndarray of bool, shape (n_sequences, max_length)
        True on real tokens (including [CLS] and [SEP]), False on padding.
    tokenizer : fitted tokenizer
        The tokenizer that produced the ids.

    Examples
    --------
    >>> from dnatok import KmerTokenizer
    >>> Xt = KmerTokenizer(k=3).transform(["ACGTA", "AC"])
    >>> Xt["input_ids"].shape, Xt.vocab_size, Xt.tokenizer_name
    ((2, 5), 69, 'KmerTokenizer')
    """

    #: read from the tokenizer; the default serves objects pickled before it existed
    network_family = None

    def __init__(self, input_ids, attention_mask, *, tokenizer):
        super().__init__(input_ids=input_ids, attention_mask=attention_mask)
        self.tokenizer = tokenizer
        specials = tokenizer.get_special_token_ids()
        self.vocab_size = tokenizer.get_vocab_size()
        self.pad_token_id = specials["pad"]
        self.unk_token_id = specials["unk"]
        self.cls_token_id = specials["cls"]
        self.sep_token_id = specials["sep"]
        self.mask_token_id = specials["mask"]
        self.tokenizer_name = type(tokenizer).__name__
        self.vocab_fingerprint = tokenizer.get_vocab_fingerprint()
        self.network_family = tokenizer.network_family

    @property
    def n_sequences(self):
        """Number of sequences (rows)."""
        return self["input_ids"].shape[0]

    @property
    def starts_with_cls(self):
        """Whether every row begins with [CLS]."""
        return bool((self["input_ids"][:, 0] == self.cls_token_id).all())

    @property
    def special_token_ids(self):
        """Sorted ids of [PAD], [UNK], [CLS], [SEP] and [MASK]."""
        return sorted(
            (self.pad_token_id, self.unk_token_id, self.cls_token_id,
             self.sep_token_id, self.mask_token_id)
        )

    def __repr__(self):
        n, width = self["input_ids"].shape
        return (
            f"TokenizedSequences(n_sequences={n}, max_length={width}, "
            f"vocab_size={self.vocab_size}, tokenizer={self.tokenizer_name})"
        )

    def __reduce__(self):
        # dict subclasses pickle their items through __init__-less reconstruction;
        # spell it out so the metadata survives pickle and joblib round trips
        return (_rebuild, (dict(self), self.__dict__))


def _rebuild(items, attributes):
    obj = TokenizedSequences.__new__(TokenizedSequences)
    dict.update(obj, items)
    obj.__dict__.update(attributes)
    return obj
