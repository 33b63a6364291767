"""The synthetic motif task behind the demo."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from dnatok.datasets import make_motif_classification


def test_shapes_balance_and_reproducibility():
    X, y, motifs = make_motif_classification(301, length=50, n_classes=3, random_state=7, return_motifs=True)
    assert len(X) == 301 and all(len(s) == 50 and set(s) <= set("ACGT") for s in X)
    assert np.bincount(y).tolist() == [101, 100, 100]
    assert len(set(motifs)) == 3 and all(len(m) == 8 for m in motifs)
    again, y_again = make_motif_classification(301, length=50, n_classes=3, random_state=7)
    assert again == X and np.array_equal(y, y_again)
    assert make_motif_classification(301, length=50, n_classes=3, random_state=8)[0] != X


def test_motifs_are_planted_in_their_class_only():
    X, y = make_motif_classification(
        400, length=40, motifs=["GGGGGGGGGG", "TTTTTTTTTT"], motif_probability=1.0,
        mutation_rate=0.0, gc_content=0.5, random_state=0,
    )
    has_g = np.array(["GGGGGGGGGG" in s for s in X])
    has_t = np.array(["TTTTTTTTTT" in s for s in X])
    assert has_g[y == 0].all() and has_t[y == 1].all()
    assert has_g[y == 1].mean() < 0.05 and has_t[y == 0].mean() < 0.05


def test_gc_content_of_background():
    X, _ = make_motif_classification(200, length=200, motif_probability=0.0, gc_content=0.8, random_state=0)
    joined = "".join(X)
    assert abs((joined.count("G") + joined.count("C")) / len(joined) - 0.8) < 0.01


@pytest.mark.parametrize(
    "params, message",
    [
        ({"motifs": ["ACGT"]}, r"^Got 1 motifs for n_classes=2; give one motif per class\.$"),
        ({"motifs": ["ACGT", "ACXT"]}, r"^Motif 1 \('ACXT'\) must be a non-empty string of A, C, G, T\.$"),
        ({"motifs": ["ACGT", "A" * 30], "length": 20}, r"^Motif 1 has 30 bases, more than length=20\.$"),
        ({"motif_length": 30, "length": 20}, r"^motif_length=30 is longer than length=20; use a shorter motif"),
    ],
)
def test_bad_arguments_are_explained(params, message):
    with pytest.raises(ValueError, match=message):
        make_motif_classification(10, **params)


def test_parameter_ranges_are_checked():
    with pytest.raises(InvalidParameterError, match=r"The 'motif_probability' parameter of make_motif_classification must be"):
        make_motif_classification(10, motif_probability=1.5)
