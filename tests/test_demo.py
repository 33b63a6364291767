"""The demo, ``dnatok demo`` (MxDNA, the README's main job, beside a k-mer baseline),
through the one command line: the ``dnatok`` console script, ``python -m estimators``."""

import subprocess
import sys
from pathlib import Path

import pytest

from dnatok import write_fasta
from dnatok.datasets import make_motif_classification
from estimators.__main__ import main

pytestmark = pytest.mark.slow  # each test runs the command line

QUICK = ["--pretrain-epochs", "1", "--finetune-epochs", "1"]


def test_mxdna_demo_reports_accuracy_compression_and_units(capsys):
    assert main(["demo", *QUICK]) == 0
    report = capsys.readouterr().out
    assert "test accuracy:" in report and "compression:" in report
    nucleotides_per_token = float(report.split("compression: ")[1].split()[0])
    assert 1.0 <= nucleotides_per_token <= 10.0
    units = report.split("learned tokenizations:\n")[1].splitlines()[0].split()
    assert all(set(unit) <= set("ACGTN") for unit in units)
    baseline = report.split("k-mer counts + logistic regression:\n")[1]
    assert float(baseline.split("test accuracy: ")[1].split()[0]) > 0.8  # 80% of sequences carry a motif


def test_demo_on_user_csv_and_fasta(tmp_path, capsys):
    X, y = make_motif_classification(300, length=60, random_state=3)
    csv_path = tmp_path / "data.csv"
    csv_path.write_text("sequence,label\n" + "".join(f"{s},{label}\n" for s, label in zip(X, y)))
    assert main(["demo", str(csv_path), *QUICK]) == 0
    assert "data.csv (300 sequences)" in capsys.readouterr().out

    for label in (0, 1):
        write_fasta(((f"s{i}", s) for i, s in enumerate(X) if y[i] == label), tmp_path / f"class{label}.fa.gz")
    assert main(["demo", str(tmp_path / "class0.fa.gz"), str(tmp_path / "class1.fa.gz"), *QUICK]) == 0
    out = capsys.readouterr().out
    assert "classes class0, class1 (300 sequences)" in out
    assert "train / test: 225 / 75 sequences" in out


@pytest.mark.parametrize(
    "paths, message",
    [
        (["missing.csv"], "No such file: missing.csv"),
        (["one.fa"], "Give one CSV file with sequence,label columns, or two or more FASTA files"),
    ],
)
def test_demo_errors_are_explained(paths, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.fa").write_text(">a\nACGT\n")
    assert main(["demo", *paths]) == 2
    assert f"dnatok demo: error: {message}" in capsys.readouterr().err


def test_demo_runs_as_a_module_and_dnatok_has_no_second_command_line():
    result = subprocess.run([sys.executable, "-m", "estimators", "demo", "--help"], capture_output=True, text=True,
                            check=True)
    assert "usage: dnatok demo" in result.stdout and "MxDNATokenizer" in result.stdout
    # dnatok, the torch-free core, never imports estimators, so the command line is not there
    result = subprocess.run([sys.executable, "-m", "dnatok", "demo"], capture_output=True, text=True)
    assert result.returncode != 0 and "No module named dnatok.__main__" in result.stderr


def test_console_script_runs_the_mxdna_demo():
    import shutil

    script = shutil.which("dnatok", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install -e . installs the dnatok command"
    result = subprocess.run([script, "demo", "--help"], capture_output=True, text=True, check=True)
    assert "MxDNATokenizer" in result.stdout
