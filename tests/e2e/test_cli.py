"""Command-line entry points: a user's mistake gives exit 1 and one log line, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lifecycle.errors import LifecycleError
from lifecycle.packaging.batch import read_rows
from lifecycle.packaging.bundle import load_bundle
from tests.support.project import ROOT

SUFFIXES = "['.csv', '.parquet', '.pq']"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python <args>` with this interpreter, in `cwd`."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def predict(cwd: Path, source: str, bundle: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m lifecycle predict --input <source> --output out.csv [--bundle <bundle>]`."""
    args = ["-m", "lifecycle", "predict", "--input", source, "--output", "out.csv"]
    return run(*args, *(["--bundle", str(bundle)] if bundle else []), cwd=cwd)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """Assert a clean user-error exit and return the logged message."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert " ERROR " in lines[0]
    return lines[0]


def test_bundle_fixture_is_loadable(bundle_dir: Path) -> None:
    """The error tests below fail on the input, not on a broken bundle."""
    loaded = load_bundle(bundle_dir)
    assert "time_hour" in loaded.input_columns


def test_predict_missing_input(bundle_dir: Path, tmp_path: Path) -> None:
    done = predict(tmp_path, "rows.csv", bundle_dir)
    assert one_error_line(done).endswith("input file not found: rows.csv")
    assert not (tmp_path / "out.csv").exists()


def test_predict_unsupported_input_extension(
    bundle_dir: Path, tmp_path: Path, interim: tuple[pd.DataFrame, pd.DataFrame, dict]
) -> None:
    (tmp_path / "rows.json").write_text(interim[1].head(5)[["origin", "dest"]].to_json(), encoding="utf-8")
    done = predict(tmp_path, "rows.json", bundle_dir)
    line = one_error_line(done)
    assert line.endswith(f"rows.json: unsupported file type; use one of {SUFFIXES}")
    assert not (tmp_path / "out.csv").exists()


def test_read_rows_errors(tmp_path: Path, interim: tuple[pd.DataFrame, pd.DataFrame, dict]) -> None:
    """The same checks in-process (no interpreter start-up): every bad input file is named."""
    rows = interim[1].head(5)
    header_only = tmp_path / "header.csv"
    rows.head(0).to_csv(header_only, index=False)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    spreadsheet = tmp_path / "rows.xlsx"
    expected = {
        header_only: f"input file {header_only} has no rows",
        empty: f"input file {empty} is empty",
        spreadsheet: f"{spreadsheet}: unsupported file type; use one of {SUFFIXES}",
    }
    for path, message in expected.items():
        with pytest.raises(LifecycleError) as caught:
            read_rows(path)
        assert str(caught.value) == message
    with pytest.raises(LifecycleError, match=f"cannot read {re.escape(str(broken))}: "):
        read_rows(broken)
    rows.to_parquet(tmp_path / "rows.pq", index=False)
    assert len(read_rows(tmp_path / "rows.pq")) == 5


def test_predict_refuses_impossible_values_in_plain_words(
    bundle_dir: Path, tmp_path: Path, raw_test: pd.DataFrame
) -> None:
    """The batch command shares the service's rules: an impossible number or an infinity
    fails its row with a message that names the field and the allowed values, plainly
    (a CSV's numbers are numpy scalars, never shown as `np.float64(inf)`); the rest is scored."""
    rows = raw_test.head(4).astype({"minute": float})
    rows.loc[rows.index[0], "month"] = 13
    rows.loc[rows.index[1], "temp"] = np.inf  # written as "inf", which pandas reads back as infinity
    rows.loc[rows.index[2], "minute"] = 30.5
    rows.to_csv(tmp_path / "rows.csv", index=False)
    done = predict(tmp_path, "rows.csv", bundle_dir)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(tmp_path / "out.csv")
    assert scored["error"].tolist()[:3] == [
        "month: expected a whole number from 1 to 12, got 13",
        "temp: expected a finite number, got inf",
        "minute: expected a whole number from 0 to 59 (every training value was one), got 30.5",
    ]
    assert pd.isna(scored["error"].iloc[3]) and 0 <= scored["probability"].iloc[3] <= 1
    assert scored["prediction"].iloc[:3].isna().all()
    assert "scored 4 rows (3 rejected by the schema)" in done.stderr


def test_predict_missing_bundle(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("a\n1\n", encoding="utf-8")
    done = predict(tmp_path, "rows.csv")
    assert "model bundle not found: models/package" in one_error_line(done)


def write_params(folder: Path, edit: dict[str, object]) -> None:
    """The repository's params.yaml with top-level `train` keys added or changed."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["train"].update(edit)
    (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def test_stage_with_unknown_params_key(tmp_path: Path) -> None:
    write_params(tmp_path, {"learning_rat": 0.1})
    done = run("-m", "lifecycle.stages.collect", cwd=tmp_path)
    line = one_error_line(done)
    assert "train.learning_rat: unknown key" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # nothing collected


def test_stage_without_params_file(tmp_path: Path) -> None:
    done = run("-m", "lifecycle.stages.collect", cwd=tmp_path)
    assert one_error_line(done).endswith("params file not found: params.yaml")


def test_stage_with_missing_input(tmp_path: Path) -> None:
    """Valid params, but the previous stage's output is absent: named, with the fix."""
    write_params(tmp_path, {})
    done = run("-m", "lifecycle.stages.featurize", cwd=tmp_path)
    line = one_error_line(done)
    assert "input file not found: data/interim/roles.json (run `dvc repro` to create it)" in line
