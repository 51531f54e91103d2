"""Late labels: the real outcome of a logged prediction, stored beside the prediction log.

Outcomes arrive hours or days after the prediction (a flight's arrival delay), so they get
a table of their own in the log's database, keyed like the log by (request id, row index),
rather than an update of the log's rows: the log stays append-only. The key is unique, so
a label is stored once whoever sends it: the same label again changes nothing, a different
one for the same row is a conflict the sender must resolve (`LabelConflict`, the service's
409). A label whose prediction is not in the log (yet, or ever) is stored and counted as
unmatched, never dropped: the monitor joins the two tables when it runs. Labels by an entity
key instead of the request id (`KeyedLabel`) follow the same rules in the table beside this
one (lifecycle.monitoring.keyed_labels), in the same transaction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from lifecycle.errors import LifecycleError
from lifecycle.monitoring.keyed_labels import (
    KeyedLabel,
    LoggedKeys,
    keyed_labels_table,
    keyed_table_name,
    read_stored_labels,
    stored_keys,
)
from lifecycle.serving.prediction_log import log_engine
from lifecycle.tasks.base import Task
from lifecycle.tasks.classification import native

# Request ids per query: keeps each IN list well below every database's parameter limit.
CHUNK_IDS = 500
# Conflicting rows a message names before it says how many more there are.
SHOWN_CONFLICTS = 5
_MISSING = object()


def labels_table(name: str) -> Table:
    """The labels table: one row per labelled prediction row."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("request_id", String(32), nullable=False, index=True),
        Column("row_index", Integer, nullable=False),
        Column("actual", Text, nullable=False),  # JSON: a class label of any type, or a value
        Column("received_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("request_id", "row_index", name=f"{name}_row"),
    )


@dataclass(frozen=True)
class Label:
    """The real outcome of one logged prediction row."""

    request_id: str
    row_index: int
    actual: Any

    @property
    def slot(self) -> tuple[str, int]:
        return self.request_id, self.row_index

    def describe(self) -> str:
        return f"request {self.request_id} row {self.row_index}"


AnyLabel = Label | KeyedLabel


@dataclass(frozen=True)
class LabelReceipt:
    """What storing a batch of labels did: new rows, repeats of stored labels, and labels
    (new or repeated) whose prediction the log does not hold."""

    stored: int
    unchanged: int
    unmatched: int

    def as_json(self) -> dict[str, int]:
        return {"stored": self.stored, "unchanged": self.unchanged, "unmatched": self.unmatched}


class LabelConflict(LifecycleError):
    """Labels that contradict a stored label (or each other) for the same row; nothing of
    the batch is stored. `positions` are the conflicting labels' places in the batch."""

    def __init__(self, conflicts: list[tuple[int, AnyLabel, Any]]) -> None:
        self.conflicts = conflicts
        self.positions = [position for position, _, _ in conflicts]
        shown = "; ".join(
            f"{label.describe()} is labelled {json.dumps(stored)}, got {json.dumps(label.actual)}"
            for _, label, stored in conflicts[:SHOWN_CONFLICTS]
        )
        more = len(conflicts) - SHOWN_CONFLICTS
        super().__init__(
            f"{len(conflicts)} label(s) conflict with the label already stored for their row, so none "
            f"was stored: {shown}{f' (and {more} more)' if more > 0 else ''}"
        )


def _same(value: Any, expected: Any) -> bool:
    """Equal and of the same JSON kind: `true` is not the class `1`, nor `"1"` the class `1`."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return value == expected
    return type(value) is type(expected) and value == expected


def label_problem(actual: Any, task: Task, classes: Sequence[Any]) -> str | None:
    """Why `actual` cannot be a label of the bundle's task, or None: a classifier's label is
    one of its classes, a regression's a finite number."""
    actual = native(actual)
    if task.classification:
        if any(_same(actual, c) for c in classes):
            return None
        return f"expected one of the classes {json.dumps(list(classes))}, got {json.dumps(actual, default=str)}"
    if isinstance(actual, int | float) and not isinstance(actual, bool) and math.isfinite(actual):
        return None
    return f"expected a finite number, got {json.dumps(actual, default=str)}"


def check_labels(labels: Sequence[AnyLabel], task: Task, classes: Sequence[Any]) -> list[tuple[int, str]]:
    """(position, problem) of every label the bundle's task cannot have."""
    problems = ((position, label_problem(label.actual, task, classes)) for position, label in enumerate(labels))
    return [(position, problem) for position, problem in problems if problem is not None]


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    unique = sorted(set(values))
    for start in range(0, len(unique), CHUNK_IDS):
        yield unique[start : start + CHUNK_IDS]


class LabelStore:
    """The labels tables of one database (by request id, and by key), beside the prediction
    log's table. `key` is the declared key's column -> schema kind (empty: no key declared)."""

    def __init__(self, url: str, table: str, predictions_table: str, key: dict[str, str] | None = None) -> None:
        self.engine: Engine = log_engine(url)
        self.table = labels_table(table)
        self.keyed_table = keyed_labels_table(keyed_table_name(table))
        self.predictions_table = predictions_table
        self.logged_keys = LoggedKeys(self.engine, predictions_table, key or {})
        try:
            for created in (self.table, self.keyed_table):
                created.metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError as error:
            raise LifecycleError(f"cannot open the labels table {table!r} at {self.engine.url}: {error}") from None

    def close(self) -> None:
        self.engine.dispose()

    def add(self, labels: Sequence[AnyLabel], received_at: datetime) -> LabelReceipt:
        """Store the labels not stored yet, in one transaction; raise `LabelConflict` (and store
        nothing) if any contradicts a stored label or another label of the batch.

        A concurrent writer of the same rows makes the insert fail on the unique key: the
        batch is then checked again against what that writer stored.
        """
        try:
            try:
                return self._add(labels, received_at)
            except IntegrityError:
                return self._add(labels, received_at)
        except SQLAlchemyError as error:
            raise LifecycleError(f"cannot store labels in {self.table.name!r} at {self.engine.url}: {error}") from None

    def _add(self, labels: Sequence[AnyLabel], received_at: datetime) -> LabelReceipt:
        by_id = [(p, label) for p, label in enumerate(labels) if isinstance(label, Label)]
        by_key = [(p, label) for p, label in enumerate(labels) if isinstance(label, KeyedLabel)]
        ids = [label.request_id for _, label in by_id]
        texts = [label.key for _, label in by_key]
        with self.engine.begin() as connection:
            new_ids, id_conflicts = _sort_out(by_id, self._stored(connection, ids))
            new_keys, key_conflicts = _sort_out(by_key, stored_keys(connection, self.keyed_table, texts, CHUNK_IDS))
            conflicts = sorted([*id_conflicts, *key_conflicts], key=lambda conflict: conflict[0])
            if conflicts:
                raise LabelConflict(conflicts)
            for table, new in ((self.table, new_ids), (self.keyed_table, new_keys)):
                if new:
                    connection.execute(
                        table.insert(), [{**_row(label, actual), "received_at": received_at} for label, actual in new]
                    )
            logged = self._logged(connection, ids) if ids else set()
        matched = self.logged_keys.matched(texts) if texts else set()
        unmatched = sum(label.slot not in logged for _, label in by_id) + sum(t not in matched for t in texts)
        stored = len(new_ids) + len(new_keys)
        return LabelReceipt(stored=stored, unchanged=len(labels) - stored, unmatched=unmatched)

    def _stored(self, connection: Any, ids: Sequence[str]) -> dict[tuple[str, int], Any]:
        table, found = self.table, {}
        for chunk in _chunks(ids):
            query = select(table.c.request_id, table.c.row_index, table.c.actual).where(table.c.request_id.in_(chunk))
            found.update({(r.request_id, r.row_index): json.loads(r.actual) for r in connection.execute(query)})
        return found

    def _logged(self, connection: Any, ids: Sequence[str]) -> set[tuple[str, int]]:
        """The (request id, row index) keys among `ids` that the prediction log holds."""
        if not inspect(connection).has_table(self.predictions_table):
            return set()
        log = Table(self.predictions_table, MetaData(), autoload_with=connection)
        # a record per request (its row count), or per row in a log of the older layout
        per_request = "row_count" in log.c
        found: set[tuple[str, int]] = set()
        for chunk in _chunks(ids):
            query = select(log.c.request_id, log.c.row_count if per_request else log.c.row_index)
            for request_id, value in connection.execute(query.where(log.c.request_id.in_(chunk))):
                found.update((request_id, index) for index in (range(value) if per_request else (value,)))
        return found


def _sort_out(
    labels: Sequence[tuple[int, AnyLabel]], stored: dict[Any, Any]
) -> tuple[list[tuple[AnyLabel, Any]], list[tuple[int, AnyLabel, Any]]]:
    """The labels to store (the first of each slot not stored yet, with its actual as JSON
    holds it) and the (position, label, stored label) of those that contradict one."""
    first: dict[Any, Any] = {}
    new, conflicts = [], []
    for position, label in labels:
        actual = native(label.actual)
        known = stored.get(label.slot, first.get(label.slot, _MISSING))
        if known is _MISSING:
            first[label.slot] = actual
            new.append((label, actual))
        elif not _same(actual, known):
            conflicts.append((position, label, known))
    return new, conflicts


def _row(label: AnyLabel, actual: Any) -> dict[str, Any]:
    where = (
        {"key": label.key}
        if isinstance(label, KeyedLabel)
        else {"request_id": label.request_id, "row_index": label.row_index}
    )
    return {**where, "actual": json.dumps(actual)}


def read_labels(url: str, table: str = "labels") -> pd.DataFrame:
    """The labels table as a frame: request_id, row_index, actual (decoded), received_at.
    No table yet: no labels."""
    columns = ["request_id", "row_index", "actual", "received_at"]
    return read_stored_labels(url, labels_table(table), columns, "labels")
