"""skorch-wrapped neural estimators built on dnatok tokenizers."""

__all__ = []
