"""Atomic, deterministic writes: a failed write leaves the previous file, JSON bytes are stable."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lifecycle.errors import LifecycleError
from lifecycle.storage import (
    atomic_directory,
    atomic_path,
    file_digest,
    read_joblib,
    read_json,
    read_parquet,
    write_csv,
    write_joblib,
    write_json,
    write_parquet,
    write_text,
)


class Interrupted(RuntimeError):
    """Stands for a crash in the middle of writing."""


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_path_keeps_old_file_when_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json({"roc_auc": 0.7}, target)
    before = target.read_bytes()
    with pytest.raises(Interrupted):
        with atomic_path(target) as temp:
            temp.write_text('{"roc_auc": 0.', encoding="utf-8")  # half written
            raise Interrupted
    assert target.read_bytes() == before
    assert listing(tmp_path) == ["metrics.json"]  # no temporary file left behind


def test_atomic_path_failed_first_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "model.joblib"
    with pytest.raises(Interrupted):
        with atomic_path(target) as temp:
            assert temp.parent == target.parent and temp.name.startswith(".model.joblib.")
            raise Interrupted
    assert listing(target.parent) == []


def test_atomic_path_success_replaces_and_is_readable(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("old", encoding="utf-8")
    with atomic_path(target) as temp:
        temp.write_text("new", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "old"  # not visible before the block ends
    assert target.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert listing(tmp_path) == ["notes.txt"]


def test_write_json_is_byte_identical_for_any_key_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_json({"b": 1, "a": {"y": [1, 2], "x": 0.5}}, first)
    write_json({"a": {"x": 0.5, "y": [1, 2]}, "b": 1}, second)
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert read_json(first) == {"a": {"x": 0.5, "y": [1, 2]}, "b": 1}


def test_write_json_refuses_nan_and_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json({"f1": 0.5}, target)
    with pytest.raises(ValueError):
        write_json({"f1": float("nan")}, target)
    assert json.loads(target.read_text(encoding="utf-8")) == {"f1": 0.5}
    assert listing(tmp_path) == ["metrics.json"]


def test_parquet_csv_and_joblib_round_trip(tmp_path: Path, raw_tables: dict[str, pd.DataFrame]) -> None:
    planes = raw_tables["planes"].head(50)
    write_parquet(planes.set_axis(range(100, 150)), tmp_path / "planes.parquet")
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "planes.parquet"), planes.reset_index(drop=True))
    write_csv(planes, tmp_path / "planes.csv")
    assert pd.read_csv(tmp_path / "planes.csv")["tailnum"].tolist() == planes["tailnum"].tolist()
    write_joblib({"rows": len(planes)}, tmp_path / "obj.joblib")
    assert read_joblib(tmp_path / "obj.joblib") == {"rows": 50}
    assert listing(tmp_path) == ["obj.joblib", "planes.csv", "planes.parquet"]


def test_same_content_same_digest(tmp_path: Path, raw_tables: dict[str, pd.DataFrame]) -> None:
    """Writing the same frame twice gives the same bytes (DVC sees no change)."""
    weather = raw_tables["weather"].head(500)
    write_parquet(weather, tmp_path / "one.parquet")
    write_parquet(weather.copy(), tmp_path / "two.parquet")
    assert file_digest(tmp_path / "one.parquet") == file_digest(tmp_path / "two.parquet")
    write_text("abc", tmp_path / "t.txt")
    assert file_digest(tmp_path / "t.txt", "md5") == "900150983cd24fb0d6963f7d28e17f72"


@pytest.mark.parametrize("reader", [read_json, read_parquet, read_joblib])
def test_readers_name_missing_file(tmp_path: Path, reader: Callable[[Path], Any]) -> None:
    path = tmp_path / "data" / "interim" / "train.parquet"
    with pytest.raises(LifecycleError, match="run `dvc repro` to create it") as caught:
        reader(path)
    assert f"input file not found: {path}" in str(caught.value)


def test_atomic_directory_replaces_folder(tmp_path: Path) -> None:
    target = tmp_path / "package"
    target.mkdir()
    (target / "old.txt").write_text("old", encoding="utf-8")
    with atomic_directory(target) as folder:
        assert listing(folder) == []
        (folder / "new.txt").write_text("new", encoding="utf-8")
        assert listing(target) == ["old.txt"]  # the old folder is intact until the swap
    assert listing(target) == ["new.txt"]
    assert listing(tmp_path) == ["package"]  # neither the temp nor the retired folder remains
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_atomic_directory_creates_folder(tmp_path: Path) -> None:
    target = tmp_path / "models" / "package"
    with atomic_directory(target) as folder:
        write_json({"a": 1}, folder / "schema.json")
    assert listing(target) == ["schema.json"]


def test_atomic_directory_failure_keeps_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "package"
    target.mkdir()
    (target / "old.txt").write_text("old", encoding="utf-8")
    with pytest.raises(Interrupted):
        with atomic_directory(target) as folder:
            (folder / "half.txt").write_text("half", encoding="utf-8")
            raise Interrupted
    assert listing(target) == ["old.txt"]
    assert listing(tmp_path) == ["package"]
