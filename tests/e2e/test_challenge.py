"""`python -m lifecycle challenge` in a real DVC repository: the first run's bundle (fetched from
its git revision with `dvc get`) against the second run's, on the second run's test split.
Both are scored on the same rows, hashed; each model's metrics there equal what its own
evaluate stage wrote, so the comparison is the evaluate stage's, on one set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lifecycle.config import EngineSettings
from lifecycle.packaging.lineage import dvc_md5
from lifecycle.partitions import write_table
from tests.support.pipeline import SecondRun

pytestmark = pytest.mark.e2e

HOLDOUT = "data/interim/test.parquet"


def challenge(run: SecondRun, *args: str) -> tuple[int, str]:
    done = run.repo.run("python", "-m", "lifecycle", "challenge", *args, check=False)
    return done.returncode, done.stderr


def test_the_champion_at_its_revision_against_the_challenger_on_one_holdout(second_run: SecondRun) -> None:
    repo = second_run.repo
    code, said = challenge(second_run, "--champion-rev", second_run.base)
    result = repo.read_json("metrics/challenge.json")
    wins = result["decision"]["challenger_wins"]
    assert code == (0 if wins else 1), said

    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    holdout_md5 = next(o["md5"] for o in lock["stages"]["preprocess"]["outs"] if o["path"] == HOLDOUT)
    assert result["holdout"]["md5"] == holdout_md5 and result["holdout"]["path"] == HOLDOUT
    assert result["holdout"]["scored"] == result["champion"]["main"]["rows"] == result["challenger"]["main"]["rows"]
    # each model's metrics on the holdout are its own evaluate stage's on the same test split
    base_metrics = json.loads(repo.run("git", "show", f"{second_run.base}:metrics/evaluate.json").stdout)
    for role, metrics in (("champion", base_metrics), ("challenger", repo.read_json("metrics/evaluate.json"))):
        for name in ("roc_auc", "log_loss", "average_precision", "brier"):
            assert result[role]["metrics"][name] == pytest.approx(metrics[name], abs=1e-6), (role, name)
    assert result["champion"]["model_version"] != result["challenger"]["model_version"]
    # the decision follows the declared thresholds (params.yaml: roc_auc +0.001, log_loss no worse)
    change = result["challenger"]["metrics"]["roc_auc"] - result["champion"]["metrics"]["roc_auc"]
    loss = result["challenger"]["metrics"]["log_loss"] - result["champion"]["metrics"]["log_loss"]
    if change < 0.001 or loss > 0:
        assert not wins
    summary = (repo.path / "reports/challenge/summary.md").read_text()
    assert summary.startswith("# Challenge: " + ("the challenger wins" if wins else "the champion stays"))
    assert all(reason in summary for reason in result["decision"]["reasons"])
    assert (repo.path / "reports/challenge/metric.png").stat().st_size > 0

    # the same bundle as champion and challenger: no improvement, the champion stays
    same, said = challenge(second_run, "--champion", "models/package", "--output", "same.json", "--report-dir", "same")
    assert same == 1 and "roc_auc" in said and "is not at least the champion's" in said

    # the dask engine's test split: a folder of parts, hashed as DVC hashes it, scored the same
    parts = repo.path / "parts.parquet"
    write_table(pd.read_parquet(repo.path / HOLDOUT), parts, EngineSettings(name="dask", partition_rows=300))
    challenge(second_run, "--champion-rev", second_run.base, "--holdout", str(parts), "--output", "parts.json")
    from_parts = repo.read_json("parts.json")
    md5 = from_parts["holdout"]["md5"]
    assert len(list(parts.iterdir())) > 1 and md5 == dvc_md5([parts])[str(parts)] and md5.endswith(".dir")
    assert from_parts["holdout"]["scored"] == result["holdout"]["scored"]
    for role in ("champion", "challenger"):
        assert from_parts[role]["metrics"] == result[role]["metrics"]


def test_a_challenge_that_cannot_be_judged_says_why_and_writes_nothing(second_run: SecondRun, tmp_path: Path) -> None:
    unlabelled = tmp_path / "unlabelled.parquet"
    pd.read_parquet(second_run.repo.path / HOLDOUT).drop(columns="delayed").to_parquet(unlabelled)
    output = ["--output", str(tmp_path / "challenge.json"), "--report-dir", str(tmp_path / "report")]
    cases = [
        (["--champion-rev", "no-such-tag"], "cannot get the bundle of revision 'no-such-tag'"),
        (["--champion-rev", second_run.base, "--holdout", str(unlabelled)], "holds no labels (column 'delayed'"),
        (["--champion", str(tmp_path / "nowhere")], "the champion: model bundle not found"),
    ]
    for args, message in cases:
        code, said = challenge(second_run, *args, *output)
        errors = [line for line in said.splitlines() if " ERROR " in line]
        assert code == 2 and len(errors) == 1 and message in errors[0], said
        assert not (tmp_path / "challenge.json").exists() and not (tmp_path / "report").exists()
