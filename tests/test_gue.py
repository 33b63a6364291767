"""evaluate_gue and ``dnatok gue`` on the real GUE tasks in ../shared/data/gue."""

import csv

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from dnatok import KmerTokenizer, evaluate_gue
from dnatok.datasets import published_gue_scores

TASKS = ["prom/prom_core_tata", "tf/0"]


@pytest.fixture(scope="module")
def gue(shared_data):
    return shared_data / "gue"


def kmer_logreg():
    return make_pipeline(KmerTokenizer(output="counts"), LogisticRegression(max_iter=500, C=0.5))


def test_evaluate_gue_scores_each_task_beside_the_published_models(gue):
    rows = evaluate_gue(kmer_logreg(), TASKS, archive=gue, param_grid={"kmertokenizer__k": [3, 4]},
                        max_train=1500, random_state=0)
    published = published_gue_scores()
    assert [row["task"] for row in rows] == TASKS
    for row in rows:
        assert row["error"] is None
        assert 0.2 < row["mcc"] < 1 and 0.5 < row["accuracy"] < 1 and 0 < row["f1"] < 1
        assert row["n_train"] == 1500 and row["n_test"] in (613, 1000)
        assert row["best_params"] in ({"kmertokenizer__k": 3}, {"kmertokenizer__k": 4})
        assert row["fit_seconds"] > 0 and row["predict_seconds"] > 0
        assert row["DNABERT-2"] == published[row["task"]]["DNABERT-2"]
        assert row["minus_DNABERT-2"] == pytest.approx(row["mcc"] - row["DNABERT-2"], abs=1e-6)
        assert row["NT-2500M-multi"] == published[row["task"]]["NT-2500M-multi"]


@pytest.mark.slow
def test_evaluate_gue_is_reproducible_and_parallel(gue):
    from estimators import SequenceClassifier

    model = make_pipeline(KmerTokenizer(k=3), SequenceClassifier(module__d_model=16, module__n_heads=2,
                                                                 module__n_layers=1, max_epochs=1))
    first = evaluate_gue(model, TASKS, archive=gue, max_train=300, random_state=3)
    again = evaluate_gue(model, TASKS, archive=gue, max_train=300, random_state=3, n_jobs=2)
    assert [r["mcc"] for r in first] == [r["mcc"] for r in again]


def test_evaluate_gue_reports_a_failing_task_and_goes_on(gue, tmp_path):
    import shutil

    partial = tmp_path / "gue"
    shutil.copytree(gue / "prom" / "prom_core_tata", partial / "prom" / "prom_core_tata")
    rows = evaluate_gue(kmer_logreg(), ["tf/0", "prom/prom_core_tata"], archive=partial, max_train=500)
    assert "has no train.csv" in rows[0]["error"] and np.isnan(rows[0]["mcc"])
    assert rows[1]["error"] is None and rows[1]["mcc"] > 0
    frame = evaluate_gue(kmer_logreg(), ["prom/prom_core_tata"], archive=partial, max_train=500, as_frame=True)
    assert list(frame["task"]) == ["prom/prom_core_tata"] and "minus_NT-2500M-multi" in frame.columns
    with pytest.raises(ValueError, match="Unknown GUE task"):
        evaluate_gue(kmer_logreg(), ["prom/tata"], archive=partial)
    with pytest.raises(TypeError, match="Parameter grid for parameter .kmertokenizer__k. needs to be a list"):
        evaluate_gue(kmer_logreg(), ["prom/prom_core_tata"], archive=partial, param_grid={"kmertokenizer__k": 3})


@pytest.mark.slow
def test_dnatok_gue_command(gue, tmp_path, capsys):
    from estimators.__main__ import main

    output = tmp_path / "out"
    status = main(["gue", "--tasks", ",".join(TASKS), "--data", str(gue), "--max-train", "800",
                   "--output", str(output)])
    assert status == 0
    printed = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in printed.splitlines() if line.startswith(tuple(TASKS))}
    published = published_gue_scores()
    for task in TASKS:  # MCC, then the two published scores
        assert float(lines[task][2]) == pytest.approx(published[task]["DNABERT-2"], abs=5e-4)
        assert 0 < float(lines[task][1]) < 1
    with open(output / "gue_kmer-logreg.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["task"] for r in rows] == TASKS and all(r["error"] == "" for r in rows)
    assert (output / "gue_kmer-logreg.png").stat().st_size > 0


@pytest.mark.slow
def test_dnatok_gue_command_with_a_neural_model_and_a_time_budget(gue, tmp_path, capsys):
    from estimators.__main__ import main

    status = main(["gue", "--model", "char-transformer", "--tasks", "prom/prom_core_tata", "--data", str(gue),
                   "--max-time", "5", "--max-train", "400", "--output", str(tmp_path)])
    assert status == 0
    with open(tmp_path / "gue_char-transformer.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["error"] == "" and float(row["fit_seconds"]) < 60
    status = main(["gue", "--tasks", "prom/nope", "--data", str(gue), "--output", str(tmp_path)])
    assert status == 2 and "Unknown GUE task(s) 'prom/nope'" in capsys.readouterr().err
    # a task that fails is a row of the table, and the exit status says so
    partial = tmp_path / "partial"
    import shutil

    shutil.copytree(gue / "prom" / "prom_core_tata", partial / "prom" / "prom_core_tata")
    status = main(["gue", "--tasks", "tf/0,prom/prom_core_tata", "--data", str(partial), "--max-train", "300",
                   "--output", str(tmp_path / "out2")])
    assert status == 2 and "1 of 2 task(s) failed: tf/0" in capsys.readouterr().err
    with open(tmp_path / "out2" / "gue_kmer-logreg.csv") as handle:
        assert [r["error"] != "" for r in csv.DictReader(handle)] == [True, False]


def test_dnatok_gue_command_refuses_a_hostile_archive_in_one_line(tmp_path, capsys):
    import stat
    import zipfile

    from estimators.__main__ import main

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("GUE/tf/0/train.csv", "sequence,label\nACGTACGTAA,1\n")
        link = zipfile.ZipInfo("GUE/tf/0/test.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    home = tmp_path / "home"
    status = main(["gue", "--data", str(bad), "--data-home", str(home), "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 2
    (line,) = captured.err.strip().splitlines()  # one line, no traceback
    assert line.startswith(f"dnatok gue: error: Refusing to extract the archive from {bad}: ")
    assert "member 'GUE/tf/0/test.csv' is a symbolic link" in line
    assert not (home / "gue" / "GUE").exists() and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# Archive limits and repeated tasks, through evaluate_gue and ``dnatok gue``
# --------------------------------------------------------------------------

# rows that deflate about 1000-fold: 2 MiB of them passes the default ratio limit (200)
_REPEATED = "ACGTACGTAA,1\nTTTTCCCCGG,0\n" * (2 * 2**20 // 24)


def small_gue_zip(path, train=_REPEATED):
    """A real GUE zip with one task, tf/0, whose train.csv is ``train`` (three members)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("GUE/tf/0/train.csv", "sequence,label\n" + train)
        archive.writestr("GUE/tf/0/dev.csv", "sequence,label\nACGTACGTAA,1\nTTTTCCCCGG,0\n")
        archive.writestr("GUE/tf/0/test.csv", "sequence,label\nACGTACGTAA,1\nTTTTCCCCGG,0\nACGTACGTAA,1\n")
    return path


def test_dnatok_gue_command_takes_archive_limits(tmp_path, capsys):
    from estimators.__main__ import main

    archive = small_gue_zip(tmp_path / "GUE.zip")
    home, output = tmp_path / "home", tmp_path / "out"
    command = ["gue", "--data", str(archive), "--data-home", str(home), "--output", str(output), "--max-train", "40"]
    # the defaults refuse it, and the message names the option that raises the limit
    assert main(command) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "member 'GUE/tf/0/train.csv' expands" in line and "limit of 200-fold" in line
    assert line.endswith("On the command line: --max-ratio.")
    # a lowered limit refuses it too
    for option, value, match in [("--max-members", "2", "it has 3 members, more than the limit of 2"),
                                 ("--max-total-size", "1KiB", "more than the limit of 1,024 bytes"),
                                 ("--max-member-size", "1.5KB", "more than the limit of 1,500 bytes per member")]:
        assert main([*command, "--max-ratio", "none", option, value]) == 2
        error = capsys.readouterr().err
        assert match in error and error.strip().endswith(f"On the command line: {option}."), error
    assert not (home / "gue" / "GUE").exists() and not output.exists()
    # a raised limit takes it
    assert main([*command, "--max-ratio", "5000", "--max-members", "none", "--max-total-size", "8GiB"]) == 0
    with open(output / "gue_kmer-logreg.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["task"] == "tf/0" and row["error"] == "" and row["n_train"] == "40"
    # sizes, counts and ratios that are not
    for option, value in [("--max-total-size", "8 parsecs"), ("--max-members", "0"), ("--max-ratio", "-1")]:
        with pytest.raises(SystemExit):
            main([*command, option, value])
        assert f"argument {option}: {value!r} is not a" in capsys.readouterr().err


def test_dnatok_gue_command_runs_a_repeated_task_once(tmp_path, capsys):
    from estimators.__main__ import main

    archive = small_gue_zip(tmp_path / "GUE.zip", train="ACGTACGTAA,1\nTTTTCCCCGG,0\n" * 20)
    output = tmp_path / "out"
    assert main(["gue", "--tasks", "tf/0, tf/0,tf/0", "--data", str(archive), "--data-home", str(tmp_path / "home"),
                 "--output", str(output)]) == 0
    assert "kmer-logreg on 1 task(s)" in capsys.readouterr().out
    with open(output / "gue_kmer-logreg.csv") as handle:
        assert [row["task"] for row in csv.DictReader(handle)] == ["tf/0"]


def test_evaluate_gue_takes_archive_limits(tmp_path):
    from dnatok.datasets import ArchiveLimits, UnsafeArchiveError

    archive = small_gue_zip(tmp_path / "GUE.zip")
    with pytest.raises(UnsafeArchiveError, match="it has 3 members, more than the limit of 2"):
        evaluate_gue(kmer_logreg(), ["tf/0"], archive=archive, data_home=tmp_path, limits=ArchiveLimits(max_members=2))
    with pytest.raises(UnsafeArchiveError, match="limit of 200-fold"):  # the defaults
        evaluate_gue(kmer_logreg(), ["tf/0"], archive=archive, data_home=tmp_path)
    (row,) = evaluate_gue(kmer_logreg(), ["tf/0"], archive=archive, data_home=tmp_path, max_train=40,
                          limits=ArchiveLimits(max_ratio=None))
    assert row["error"] is None and row["n_train"] == 40


def test_evaluate_gue_runs_a_repeated_task_once(tmp_path):
    archive = small_gue_zip(tmp_path / "GUE.zip", train="ACGTACGTAA,1\nTTTTCCCCGG,0\n" * 20)
    finished = []
    rows = evaluate_gue(kmer_logreg(), ["tf/0", "tf/0"], archive=archive, data_home=tmp_path, callback=finished.append)
    assert [row["task"] for row in rows] == ["tf/0"] and finished == rows
