"""Labels by an entity key: outcomes that arrive without the request id, named instead by the
input columns that identify what was predicted (`serve.log.labels_key`; for flights the date,
carrier, route and schedule).

Why a table of their own (`<labels_table>_by_key`) rather than new columns of the labels
table: a labels table written before keys existed keeps its layout (request id and row
index required, unique together) and stays readable and writable as it is.

A key's values are stored in one canonical JSON text (a whole number as an integer, a
date-time as UTC ISO 8601, text as text), unique in the table: the same key sent as 2013 or
2013.0 is one key, and a logged prediction's inputs put in the same form match it. One
keyed label belongs to every logged prediction with that key (a flight scored twice gets its
outcome twice); a label sent by request id for a row wins over a keyed one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, Text, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from lifecycle.errors import LifecycleError
from lifecycle.serving.prediction_log import OUTPUT_COLUMNS, decoded, log_engine, read_prediction_log
from lifecycle.tasks.classification import native

logger = logging.getLogger(__name__)

KEYED_SUFFIX = "_by_key"
# How late a prediction may reach the log after the time stamped on it (another process's
# writer batches and retries): the log is read again from this long before the newest row seen.
LATE_WRITE = timedelta(seconds=60)


def keyed_table_name(labels_table: str) -> str:
    """The keyed labels' table, named after the labels table it sits beside."""
    return f"{labels_table}{KEYED_SUFFIX}"


def keyed_labels_table(name: str) -> Table:
    """One row per labelled key."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", Text, nullable=False, unique=True),  # canonical JSON of the key's values
        Column("actual", Text, nullable=False),  # JSON, as in the labels table
        Column("received_at", DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True)
class KeyedLabel:
    """The real outcome of every logged prediction whose key values are `key`."""

    key: str  # canonical JSON text, see `key_text`
    actual: Any

    @property
    def slot(self) -> str:
        return self.key

    def describe(self) -> str:
        return f"key {self.key}"


def key_kinds(schema: dict[str, Any], key: Sequence[str]) -> dict[str, str]:
    """Column -> schema kind of the declared key; refuses a column the bundle does not take."""
    kinds = {c["name"]: c["kind"] for c in schema["columns"]}
    unknown = [name for name in key if name not in kinds]
    if unknown:
        raise LifecycleError(
            f"serve.log.labels_key names {unknown}, not input column(s) of the bundle's schema "
            f"(its inputs: {', '.join(kinds)}); declare the bundle's own columns, or [] (--labels-key '') "
            "for labels by request id only"
        )
    if "actual" in key:
        raise LifecycleError("serve.log.labels_key cannot name a column `actual`: a label's outcome is `actual`")
    return {name: kinds[name] for name in key}


def canonical(kind: str, value: Any) -> Any:
    """A key value in the one form both a label and a logged input take; None if missing."""
    value = native(value)
    if value is None or (not isinstance(value, str | bool) and pd.isna(value)):
        return None
    if kind == "numeric":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()
    if kind == "boolean":
        return bool(value)
    return str(value)


def key_text(values: dict[str, Any], kinds: dict[str, str]) -> str:
    """The canonical JSON of a key's values (columns sorted)."""
    return json.dumps({name: canonical(kinds[name], values[name]) for name in kinds}, sort_keys=True)


def log_key_texts(log: pd.DataFrame, kinds: dict[str, str]) -> list[str | None]:
    """The key text of each logged prediction (None where a key value is missing), read from
    `read_prediction_log`'s input columns."""
    columns = {}
    for name, kind in kinds.items():
        found = f"{name}_input" if name in OUTPUT_COLUMNS else name
        values = log[found].tolist() if found in log else [None] * len(log)
        columns[name] = [canonical(kind, value) for value in values]
    return [
        None if any(v is None for v in row) else json.dumps(dict(zip(columns, row)), sort_keys=True)
        for row in zip(*columns.values())
    ]


class LoggedKeys:
    """The key texts of the logged predictions, to count keyed labels that match none.

    Read through `read_prediction_log` (whatever the log's storage), the whole log once, then
    only what was logged since the newest prediction seen (less `LATE_WRITE`), so a service
    answering keyed labels reads each prediction about once rather than the log per request.
    It keeps the keys' hashes, a third of the memory of their texts: a collision could only
    count an unmatched label as matched, and the count is a hint, never a reason to drop one.
    """

    def __init__(self, engine: Engine, table: str, kinds: dict[str, str]) -> None:
        self.engine, self.table, self.kinds = engine, table, kinds
        self._seen: set[int] = set()
        self._newest: datetime | None = None
        self._lock = threading.Lock()

    def matched(self, texts: Iterable[str]) -> set[str]:
        """The texts among `texts` that some logged prediction has."""
        with self._lock:
            self._refresh()
            return {text for text in texts if hash(text) in self._seen}

    def _refresh(self) -> None:
        if not inspect(self.engine).has_table(self.table):
            return
        url = self.engine.url.render_as_string(hide_password=False)
        since = None if self._newest is None else self._newest - LATE_WRITE
        log = read_prediction_log(url, self.table, since=since)
        if log.empty:
            return
        self._seen.update(hash(text) for text in log_key_texts(log, self.kinds) if text is not None)
        self._newest = log["logged_at"].max().to_pydatetime()


def stored_keys(connection: Any, table: Table, texts: Sequence[str], chunk: int) -> dict[str, Any]:
    """Key text -> stored label of the texts among `texts` that the table holds."""
    unique, found = sorted(set(texts)), {}
    for start in range(0, len(unique), chunk):
        query = select(table.c.key, table.c.actual).where(table.c.key.in_(unique[start : start + chunk]))
        found.update({row.key: json.loads(row.actual) for row in connection.execute(query)})
    return found


def read_stored_labels(url: str, stored: Table, columns: Sequence[str], what: str) -> pd.DataFrame:
    """`columns` of a labels table, oldest first, with `actual` decoded and `received_at` in
    UTC; no table yet: no labels. Both label tables (by request id, by key) are read so."""
    engine = log_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(stored.name):
                frame = pd.DataFrame(columns=list(columns))
            else:
                query = select(*(stored.c[name] for name in columns)).order_by(stored.c.id)
                frame = pd.read_sql(query, connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as error:
        raise LifecycleError(f"cannot read the {what} {stored.name!r} at {engine.url}: {error}") from None
    finally:
        engine.dispose()
    frame["actual"] = pd.Series(decoded(frame["actual"].tolist()), index=frame.index, dtype=object)
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    return frame


def read_keyed_labels(url: str, table: str) -> pd.DataFrame:
    """The keyed labels as a frame: key (text), actual (decoded), received_at. No table: none."""
    return read_stored_labels(url, keyed_labels_table(table), ["key", "actual", "received_at"], "keyed labels")


def join_keyed(log: pd.DataFrame, keyed: pd.DataFrame, kinds: dict[str, str]) -> pd.Series:
    """Each logged prediction's keyed label (NaN where none), by the key values of its inputs.

    The columns of each stored key are read from its text, so labels stored under an earlier
    `labels_key` still join; a key column the bundle does not take (kinds) joins nothing.
    """
    found = pd.Series(None, index=log.index, dtype=object)
    if keyed.empty or log.empty:
        return found
    labels = dict(zip(keyed["key"], keyed["actual"]))
    for columns in sorted({tuple(sorted(json.loads(text))) for text in labels}):
        if any(name not in kinds for name in columns):
            logger.warning("keyed labels on columns %s the bundle does not take: not joined", list(columns))
            continue
        texts = log_key_texts(log, {name: kinds[name] for name in columns})
        matched = pd.Series([labels.get(text, None) if text else None for text in texts], index=log.index, dtype=object)
        found = found.where(found.notna(), matched)
    return found
