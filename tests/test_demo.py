"""The demos: `dnatok demo` (MxDNA, the README's main job) and `python -m dnatok demo`."""

import subprocess
import sys
from pathlib import Path

import pytest

from dnatok import write_fasta
from dnatok.__main__ import main
from dnatok.datasets import make_motif_classification


def test_demo_on_the_embedded_default_recovers_the_motifs(capsys):
    assert main(["demo"]) == 0
    report = capsys.readouterr().out
    accuracy = float(report.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.8  # 80% of sequences carry a motif
    motifs = report.split("class motifs ")[1].split()
    top_class_1 = report.split("most indicate class 1: ")[1].split()
    # a top k-mer of class 1 is a piece of the class-1 motif
    class_1_motif = motifs[4]  # "M0 (class 0) and M1 (class 1), ..."
    assert any(kmer in class_1_motif for kmer in top_class_1[:2])


def test_demo_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "dnatok", "demo", "--k", "4"], capture_output=True, text=True, check=True)
    assert "test Matthews correlation:" in result.stdout


def test_demo_on_user_csv_and_fasta(tmp_path, capsys):
    X, y = make_motif_classification(300, length=60, random_state=3)
    csv_path = tmp_path / "data.csv"
    csv_path.write_text("sequence,label\n" + "".join(f"{s},{label}\n" for s, label in zip(X, y)))
    assert main(["demo", str(csv_path), "--k", "5"]) == 0
    assert "data.csv (300 sequences)" in capsys.readouterr().out

    for label in (0, 1):
        write_fasta(((f"s{i}", s) for i, s in enumerate(X) if y[i] == label), tmp_path / f"class{label}.fa.gz")
    assert main(["demo", str(tmp_path / "class0.fa.gz"), str(tmp_path / "class1.fa.gz")]) == 0
    out = capsys.readouterr().out
    assert "classes class0, class1 (300 sequences)" in out
    assert "most indicate class class1" in out


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


def test_mxdna_demo_reports_accuracy_compression_and_units(capsys):
    from estimators.__main__ import main as mxdna_main

    assert mxdna_main(["demo", "--pretrain-epochs", "1", "--finetune-epochs", "1"]) == 0
    report = capsys.readouterr().out
    assert "test accuracy:" in report and "compression:" in report
    nucleotides_per_token = float(report.split("compression: ")[1].split()[0])
    assert 1.0 <= nucleotides_per_token <= 10.0
    units = report.split("learned tokenizations:\n")[1].splitlines()[0].split()
    assert all(set(unit) <= set("ACGTN") for unit in units)
    assert "k-mer counts + logistic regression" in report


def test_console_script_runs_the_mxdna_demo():
    import shutil

    script = shutil.which("dnatok", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install -e . installs the dnatok command"
    result = subprocess.run([script, "demo", "--help"], capture_output=True, text=True, check=True)
    assert "MxDNATokenizer" in result.stdout
