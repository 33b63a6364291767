"""Shared fixtures: the real DNA data in ../shared/data.

Tests that need the data ask for the ``shared_data`` fixture. Outside CI a missing
data folder skips them; under CI (``CI`` set) it fails them, so a broken checkout
can never pass by skipping.
"""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("DNATOK_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
).resolve()


def _require(path):
    if path.exists():
        return path
    message = f"real DNA data not found at {path} (set DNATOK_SHARED_DATA)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data():
    """Path to ``../shared/data`` (genomes/ and gue/)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def gue_tata(shared_data):
    """(sequences, labels) of the GUE prom_core_tata training split."""
    import csv

    import numpy as np

    path = _require(shared_data / "gue" / "prom" / "prom_core_tata" / "train.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["sequence"] for r in rows], np.array([int(r["label"]) for r in rows])
