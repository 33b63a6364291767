"""Class labels and regression targets that cannot be learned are refused by index.

Each case fails in the estimator's own checks, before any training, so the fits
here are fast. The labels of a CSV file are covered in ``test_io.py``.
"""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from dnatok import CharTokenizer, KmerTokenizer, read_sequence_csv
from dnatok.datasets import make_motif_classification
from estimators import SequenceClassifier, SequenceRegressor
from estimators._classifier import check_class_labels

TINY = dict(module__d_model=16, module__n_heads=2, module__n_layers=1, batch_size=16, max_epochs=1, random_state=0)
X, Y = make_motif_classification(60, length=30, random_state=0)


def _with(labels, index, value, dtype=object):
    labels = np.array(labels, dtype=dtype)
    labels[index] = value
    return labels


def _fit_classifier(y):
    return make_pipeline(KmerTokenizer(k=3), SequenceClassifier(**TINY)).fit(X, y)


def _fit_regressor(y):
    return make_pipeline(CharTokenizer(), SequenceRegressor(**TINY)).fit(X, y)


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize(
    "missing",
    [np.float32("nan"), float("nan"), None, pd.NA, pd.NaT],
    ids=["float32-nan", "nan", "None", "pd.NA", "pd.NaT"],
)
def test_missing_labels_are_refused_by_index(missing):
    y = _with(_with(Y, 7, missing), [20, 21, 30, 40, 50, 55], missing)
    message = (r"^y has 7 missing label\(s\) \(None/NaN\), the first at index 7; drop those sequences "
               r"\(indices 7, 20, 21, 30, 40 and 2 more\) or fill their labels\.$")
    with pytest.raises(ValueError, match=message):
        _fit_classifier(y)


def test_labels_read_back_as_strings_nan_are_refused():
    # str() of a float array with a missing value: the class "nan" would be learned
    y = _with(Y, 3, np.nan, dtype=float).astype(str)
    with pytest.raises(ValueError, match=r"^y has 1 empty or 'nan' label string\(s\), the first at index 3 \('nan'\); "
                                         r"drop those sequences or fill their labels"):
        _fit_classifier(y)
    with pytest.raises(ValueError, match=r"the first at index 2 \(''\); drop those sequences \(indices 2, 4\)"):
        check_class_labels(["a", "b", "", "a", " "])


def test_infinite_labels_are_refused_by_index():
    y = _with(_with(Y, 4, np.inf, dtype=float), 9, -np.inf, dtype=float)
    with pytest.raises(ValueError, match=r"^y has 2 infinite label\(s\), the first at index 4; drop those sequences "
                                         r"\(indices 4, 9\) or fix their labels\.$"):
        _fit_classifier(y)


@pytest.mark.parametrize("huge", [10**30, -(10**30), 2**63], ids=["1e30", "-1e30", "2**63"])
def test_integer_labels_beyond_int64_are_refused(huge):
    # sklearn's message was "Mix of label input types", at score time
    for y in (_with(Y, 5, huge), [*Y[:5], huge, *Y[6:]]):
        with pytest.raises(ValueError, match=rf"^y has 1 integer label\(s\) outside the 64-bit range, the first at "
                                             rf"index 5 \({huge}\); number the classes with small integers"):
            _fit_classifier(y)
    with pytest.raises(ValueError, match=r"^y has 1 label\(s\) outside the 64-bit integer range, the first 1e\+30 "
                                         r"at index 5;"):
        _fit_classifier(_with(Y, 5, 1e30, dtype=float))


def test_fractional_labels_are_a_continuous_target():
    y = _with(Y, 6, 0.5, dtype=float)
    with pytest.raises(ValueError, match=r"^y has 1 label\(s\) that are not whole numbers, the first 0\.5 at index "
                                         r"6: that is a continuous target, not classes\. Use SequenceRegressor"):
        _fit_classifier(y)


def test_class_labels_that_are_accepted():
    np.testing.assert_array_equal(check_class_labels(Y.astype(float)), Y)  # 1.0 is class 1
    as_objects = check_class_labels(np.array(Y, dtype=object))
    assert as_objects.dtype == np.int64 and as_objects.tolist() == Y.tolist()  # sklearn metrics read it
    assert check_class_labels([True, False, True]).dtype == bool
    assert check_class_labels(pd.Series(Y, dtype="Int64")).tolist() == Y.tolist()
    assert check_class_labels(["None", "NA", "strong"]).tolist() == ["None", "NA", "strong"]
    assert check_class_labels([0, 2**63 - 1]).tolist() == [0, 2**63 - 1]


def test_object_integer_labels_score_with_sklearn_metrics():
    # sklearn reads an object array of ints as 'unknown' targets: the classes were those
    model = _fit_classifier(np.array(Y, dtype=object))
    assert 0 <= model.score(X, Y) <= 1
    assert model[-1].classes_.dtype == np.int64


def test_labels_from_a_csv_file_with_missing_cells_are_refused(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\n" + "".join(f"{s},{y}\n" for s, y in zip(X, Y)).replace(",1\n", ",nan\n", 1))
    row = int(np.flatnonzero(Y == 1)[0]) + 1
    message = f"{path}: missing value 'nan' in the 'label' cell of row {row} (line {row + 1})."
    with pytest.raises(ValueError, match=re.escape(message)):
        read_sequence_csv(path)


# ---------------------------------------------------------------- regression


@pytest.mark.parametrize("missing", [None, pd.NA, np.nan], ids=["None", "pd.NA", "nan"])
def test_missing_targets_are_refused_by_index(missing):
    y = _with(_with(np.linspace(0, 1, 60), 2, missing), [8, 9], missing)
    with pytest.raises(ValueError, match=r"^y has 3 missing (or infinite )?target\(s\)( \(None/NaN\))?, the first at "
                                         r"index 2; drop those sequences \(indices 2, 8, 9\) or fill their targets\.$"):
        _fit_regressor(y)


def test_infinite_targets_are_refused_by_row():
    y = np.c_[np.linspace(0, 1, 60), np.linspace(1, 0, 60)]
    y[[3, 11], 1] = np.inf
    with pytest.raises(ValueError, match=r"^y has 2 missing or infinite target\(s\), the first at index 3; drop those "
                                         r"sequences \(indices 3, 11\) or fill their targets\.$"):
        _fit_regressor(y)


def test_targets_beyond_float32_are_not_called_infinite():
    y = _with(np.linspace(0, 1, 60), 5, 1e39, dtype=float)
    with pytest.raises(ValueError, match=r"^y has 1 target\(s\) beyond float32's range \(about 3\.4e38\), the first "
                                         r"at index 5; the model trains in float32: rescale the targets"):
        _fit_regressor(y)
