"""Late labels in bulk, from any source kind the collect stage reads: a CSV, Parquet or JSON
Lines file (local or http(s)), a SQL table or query, a paged HTTP API. The rows are read by
the collect stage's readers and checked, each, as POST /feedback checks a label: by request
id (columns request_id, row_index, actual) or by the declared key (the columns of
`serve.log.labels_key`, and actual). Nothing is stored unless every row is a label of this
model. Kept apart from `labels` so the service does not import the source readers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from lifecycle.config import CsvSource, JsonlSource, ParquetSource, SourceSettings, parse_source
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.labels import SHOWN_CONFLICTS, AnyLabel, Label, check_labels
from lifecycle.sampling import sample_rows
from lifecycle.serving.feedback import FeedbackReader
from lifecycle.serving.request_model import problems_of
from lifecycle.sources.registry import read_source
from lifecycle.tasks.base import Task
from lifecycle.tasks.classification import native

ID_COLUMNS = ("request_id", "row_index")
FILE_KINDS = {".csv": CsvSource, ".parquet": ParquetSource, ".jsonl": JsonlSource}


def label_source(text: str) -> SourceSettings:
    """What `--source` names: a source block as `sources:` takes it (`{kind: sql, ...}`), or a
    .csv, .parquet or .jsonl path or http(s) URL."""
    if text.lstrip().startswith("{"):
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise LifecycleError(f"labels source {text}: not a YAML source block: {error}") from None
        return parse_source(raw, f"labels source {text}")
    suffix = next((s for s in FILE_KINDS if text.lower().endswith(s)), None)
    if suffix is None:
        raise LifecycleError(
            f"labels source {text}: expected a {', '.join(FILE_KINDS)} file or URL, "
            "or a source block such as '{kind: sql, url: ..., table: ...}'"
        )
    kind = FILE_KINDS[suffix]
    return kind(kind=suffix[1:], path=text)


def describe(source: SourceSettings) -> str:
    """`labels source sql sqlite:///outcomes.sqlite (table arrivals)`, for messages."""
    where = getattr(source, "path", None) or getattr(source, "url", "")
    detail = next((f" ({key} {value})" for key in ("table", "query") if (value := getattr(source, key, None))), "")
    return f"labels source {source.kind} {where}{detail}"


def read_label_source(source: SourceSettings, reader: FeedbackReader) -> list[AnyLabel]:
    """The labels of a source, by request id or by key, every row checked."""
    frame = sample_rows(read_source(source), source.sample_rows, seed=0)
    return labels_from_frame(frame, describe(source), reader)


def labels_from_frame(frame: pd.DataFrame, where: str, reader: FeedbackReader) -> list[AnyLabel]:
    """Labels from a table: by request id when it has request_id or row_index, else by the
    declared key; the source's other columns are not read."""
    key = list(reader.kinds)
    by_key = f"the key column(s) {key} (serve.log.labels_key)" if key else "a key (declare serve.log.labels_key)"
    if "actual" not in frame.columns:
        raise LifecycleError(
            f"{where} has no column `actual` (the outcome); labels need request_id, row_index and actual, "
            f"or {by_key} and actual"
        )
    if frame.empty:
        raise LifecycleError(f"{where} holds no labels")
    if any(c in frame.columns for c in ID_COLUMNS) or not key:
        return _by_request_id(frame, where, by_key)
    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise LifecycleError(
            f"{where} has neither request_id and row_index nor the key column(s) {missing}; "
            f"labels by key need {key} and actual"
        )
    return _by_key(frame, where, reader)


def _by_request_id(frame: pd.DataFrame, where: str, by_key: str) -> list[AnyLabel]:
    missing = [c for c in ID_COLUMNS if c not in frame.columns]
    if missing:
        raise LifecycleError(
            f"{where} is missing column(s) {missing}; labels need request_id, row_index and actual, "
            f"or {by_key} and actual"
        )
    bad = frame[[*ID_COLUMNS, "actual"]].isna().any(axis=1)
    if bad.any():
        raise LifecycleError(f"{where}: {int(bad.sum())} row(s) have an empty request_id, row_index or actual")
    rows = pd.to_numeric(frame["row_index"], errors="coerce")
    if rows.isna().any() or (rows != rows.round()).any() or (rows < 0).any():
        raise LifecycleError(f"{where}: row_index must be a whole number of at least 0 in every row")
    return [
        Label(str(request_id), int(row), native(actual))
        for request_id, row, actual in zip(frame["request_id"], rows, frame["actual"])
    ]


def _plain(value: Any) -> Any:
    """A cell as JSON would hold it: numpy scalars unwrapped, missing as None."""
    value = native(value)
    return None if not isinstance(value, str | bool) and pd.isna(value) else value


def _by_key(frame: pd.DataFrame, where: str, reader: FeedbackReader) -> list[AnyLabel]:
    columns = [*reader.kinds, "actual"]
    labels, problems = [], []
    for position, values in enumerate(frame[columns].itertuples(index=False, name=None)):
        try:
            labels.append(reader.label({name: _plain(value) for name, value in zip(columns, values)}))
        except ValidationError as error:
            problems += [f"row {position + 1}: {p.field}: {p.message}" for p in problems_of(error, many=False)]
    if problems:
        shown = "; ".join(problems[:SHOWN_CONFLICTS])
        more = len(problems) - SHOWN_CONFLICTS
        raise LifecycleError(
            f"{where}: {len(problems)} key value(s) are not as the bundle's schema types them, none stored: "
            f"{shown}{f' (and {more} more)' if more > 0 else ''}"
        )
    return labels


def refuse_wrong_labels(labels: Sequence[AnyLabel], task: Task, classes: Sequence[Any], where: str) -> None:
    """Raise naming the first labels (by row, counted from 1) the bundle's task cannot have."""
    wrong = check_labels(labels, task, classes)
    if wrong:
        shown = "; ".join(f"row {position + 1}: {problem}" for position, problem in wrong[:SHOWN_CONFLICTS])
        raise LifecycleError(f"{where}: {len(wrong)} label(s) are not a label of this model, none stored: {shown}")
