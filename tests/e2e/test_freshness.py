"""Collect is honest about freshness, with the real `dvc repro` on the breast cancer data.

A file in data/external/ is a dependency of collect: editing it reruns collect (and the
run cache cannot hand back the old snapshot). A database changes behind DVC's back:
`dvc repro` cannot see it, and the documented `dvc repro -f -s collect` re-collects.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.support.own_data import breast_cancer, minimal_params, new_repo, write_params
from tests.support.pipeline import PipelineRepo

pytestmark = pytest.mark.e2e

TARGET = {"column": "diagnosis", "name": "label", "positive_label": "malignant"}
CSV = "data/external/tumours.csv"


def collected(repo: PipelineRepo, *args: str) -> list[str]:
    """Run `dvc repro <args> collect`; the stages that ran."""
    return repo.repro(*args, "collect")


def snapshot_rows(repo: PipelineRepo) -> int:
    return len(pd.read_parquet(repo.path / "data/raw/data.parquet"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PipelineRepo:
    return new_repo(tmp_path_factory.mktemp("freshness"))


def test_editing_a_file_in_data_external_reruns_collect(repo: PipelineRepo) -> None:
    tumours = breast_cancer()
    (repo.path / CSV).write_text(tumours.to_csv(index=False))
    write_params(repo, minimal_params({"kind": "csv", "path": CSV}, TARGET))
    assert collected(repo) == ["collect"]
    assert snapshot_rows(repo) == len(tumours)
    assert collected(repo) == []  # nothing changed: nothing runs
    (repo.path / CSV).write_text(tumours.head(400).to_csv(index=False))
    assert collected(repo) == ["collect"]
    assert snapshot_rows(repo) == 400
    (repo.path / CSV).write_text(tumours.to_csv(index=False))  # back to a state seen before
    collected(repo)
    assert snapshot_rows(repo) == len(tumours)


def test_a_database_change_needs_the_documented_forced_collect(repo: PipelineRepo, tmp_path: Path) -> None:
    """A database outside the repository (as a server's is) changes; DVC cannot know."""
    tumours = breast_cancer()
    database = tmp_path / "tumours.sqlite"
    with sqlite3.connect(database) as connection:
        tumours.to_sql("tumours", connection, index=False)
    write_params(repo, minimal_params({"kind": "sql", "url": f"sqlite:///{database}", "table": "tumours"}, TARGET))
    assert collected(repo) == ["collect"]
    assert snapshot_rows(repo) == len(tumours)
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM tumours WHERE rowid > 300")
    assert collected(repo) == []  # stale: nothing DVC tracks has changed
    assert snapshot_rows(repo) == len(tumours)
    assert collected(repo, "-f", "-s") == ["collect"]
    assert snapshot_rows(repo) == 300
    assert collected(repo) == []
