"""Late labels in bulk: a file of (request_id, row_index, actual) rows, read by the collect
stage's readers (CSV, Parquet, JSON Lines; local or http(s)) and checked against the bundle's
task before anything is stored. Kept apart from `labels` so the service does not import
the source readers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lifecycle.config import CsvSource, JsonlSource, ParquetSource
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.labels import SHOWN_CONFLICTS, Label, check_labels
from lifecycle.sources.registry import read_source
from lifecycle.tasks.base import Task
from lifecycle.tasks.classification import native


def labels_from_frame(frame: pd.DataFrame, where: str) -> list[Label]:
    """Labels from a table with the columns request_id, row_index and actual (a bulk file)."""
    missing = [c for c in ("request_id", "row_index", "actual") if c not in frame.columns]
    if missing:
        raise LifecycleError(f"{where} is missing column(s) {missing}; labels need request_id, row_index and actual")
    if frame.empty:
        raise LifecycleError(f"{where} holds no labels")
    bad = frame[["request_id", "row_index", "actual"]].isna().any(axis=1)
    if bad.any():
        raise LifecycleError(f"{where}: {int(bad.sum())} row(s) have an empty request_id, row_index or actual")
    rows = pd.to_numeric(frame["row_index"], errors="coerce")
    if rows.isna().any() or (rows != rows.round()).any() or (rows < 0).any():
        raise LifecycleError(f"{where}: row_index must be a whole number of at least 0 in every row")
    return [
        Label(str(request_id), int(row), native(actual))
        for request_id, row, actual in zip(frame["request_id"], rows, frame["actual"])
    ]


FILE_KINDS = {".csv": CsvSource, ".parquet": ParquetSource, ".jsonl": JsonlSource}


def read_label_file(path: str) -> list[Label]:
    """Labels from a CSV, Parquet or JSON Lines file (local or http(s)), read by the collect
    stage's readers, with the columns request_id, row_index and actual."""
    suffix = next((s for s in FILE_KINDS if path.lower().endswith(s)), None)
    if suffix is None:
        raise LifecycleError(f"labels source {path}: expected a {', '.join(FILE_KINDS)} file")
    kind = FILE_KINDS[suffix]
    frame = read_source(kind(kind=suffix[1:], path=path))
    return labels_from_frame(frame, f"labels source {path}")


def refuse_wrong_labels(labels: Sequence[Label], task: Task, classes: Sequence[Any], where: str) -> None:
    """Raise naming the first labels (by row, counted from 1) the bundle's task cannot have."""
    wrong = check_labels(labels, task, classes)
    if wrong:
        shown = "; ".join(f"row {position + 1}: {problem}" for position, problem in wrong[:SHOWN_CONFLICTS])
        raise LifecycleError(f"{where}: {len(wrong)} label(s) are not a label of this model, none stored: {shown}")
