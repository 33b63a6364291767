"""The genome-pretraining script: a budget that survives an interruption, and a loadable result."""

import json

import pytest


@pytest.mark.slow
def test_genome_pretraining_resumes_with_the_rest_of_its_budget(shared_data, tmp_path, capsys):
    from benchmarks.genome_pretrain import main
    from dnatok import MxDNATokenizer

    out = tmp_path / "run"
    small = ["--out", str(out), "--length", "64", "--max-windows", "96", "--max-epochs", "3"]
    main([*small, "--budget", "600"])
    first = json.loads((out / "progress.json").read_text())
    assert first["epochs"] == 3 and first["seconds"] > 0
    tokenizer = MxDNATokenizer(pretrained=out / "tokenizer").fit(["ACGT" * 16])
    units = tokenizer.tokenize("ACGTTGCA" * 8)
    assert "".join(units) == "ACGTTGCA" * 8

    # the same command again, allowed more epochs: it continues from the checkpoint
    main([*small, "--budget", "600", "--max-epochs", "5"])
    second = json.loads((out / "progress.json").read_text())
    assert second["epochs"] == 5 and second["seconds"] > first["seconds"]
    assert f"{first['seconds']:.0f} s of 600 s spent" in capsys.readouterr().out

    # once the budget is spent there is nothing left to train
    main([*small, "--budget", str(second["seconds"] / 2)])
    assert "The budget is spent" in capsys.readouterr().out
