"""The one training loop: skorch estimators over tokenized DNA.

:class:`SequenceNet` is the base of every dnatok estimator (the public ones are in
the ``estimators`` package) and :class:`MaskedLMPretrainer` the one masked-LM
trainer, which ``dnatok.MxDNATokenizer`` runs to learn its tokenization. This
layer sits above the torch modules of :mod:`dnatok.nn` and below ``estimators``.
"""

from ._callbacks import TimeBudget, WarmupCosineLR
from ._net import SequenceNet
from ._pretrainer import MaskedLMPretrainer
from ._subnormals import flushing_subnormals

__all__ = ["MaskedLMPretrainer", "SequenceNet", "TimeBudget", "WarmupCosineLR", "flushing_subnormals"]
