"""Scale-out: a grid search on a Dask cluster, and the accelerate example on CPU."""

import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from dnatok import KmerTokenizer
from dnatok.datasets import make_motif_classification
from estimators import SequenceClassifier

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.slow  # a Dask cluster of two processes, a script in a subprocess


def test_grid_search_runs_on_a_dask_local_cluster():
    X, y = make_motif_classification(80, length=30, random_state=0)
    pipeline = make_pipeline(
        KmerTokenizer(),
        SequenceClassifier(module__d_model=8, module__n_heads=2, module__n_layers=1, max_epochs=1, random_state=0),
    )
    search = GridSearchCV(pipeline, {"kmertokenizer__k": [2, 3]}, cv=2, n_jobs=-1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
        assert len(client.scheduler_info()["workers"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


def test_accelerate_example_runs_on_cpu():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "multi_gpu_accelerate.py"), "--n-samples", "120", "--max-epochs", "1", "--cpu"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "test accuracy" in result.stdout
