"""What did the model learn: mutagenesis and motifs for any pipeline that reads DNA.

Every dnatok model is a scikit-learn estimator that takes DNA strings, so one
implementation explains all of them, from k-mer counts + logistic regression to
MxDNA and DNABERT-2 (``sklearn.inspection`` is the naming model):
:func:`in_silico_mutagenesis` scores every substitution at every position, and
:func:`find_motifs` turns the resulting importance into position weight matrices.
Neither needs torch.
"""

from ._motifs import find_motifs
from ._mutagenesis import in_silico_mutagenesis

__all__ = ["find_motifs", "in_silico_mutagenesis"]
