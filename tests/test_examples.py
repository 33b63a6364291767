"""The scripts in examples/ run end to end on the real data."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.slow  # each test runs a script in a subprocess


def test_compare_tokenizers_example(shared_data):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "compare_tokenizers.py"), "--data", str(shared_data / "gue")],
        capture_output=True, text=True, check=True,
    )
    scores = [float(line.split("test MCC ")[1]) for line in result.stdout.splitlines() if "test MCC" in line]
    assert len(scores) == 4 and max(scores) > 0.4  # the TATA-box task is learnable from k-mer counts


def test_pretrain_finetune_example(shared_data):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "pretrain_finetune.py"), "--data", str(shared_data), "--windows", "300",
         "--pretrain-epochs", "1", "--finetune-epochs", "1", "--d-model", "16"],
        capture_output=True, text=True, check=True,
    )
    assert "300 pretraining windows" in result.stdout
    assert "pretrained    test MCC" in result.stdout and "from scratch  test MCC" in result.stdout
