"""The prediction log: every served prediction, appended in batches off the request path.

Why batched in a background thread: a database write per request would put a commit
(an fsync) on every request's latency. Requests only put their entries on a queue; one
writer thread drains it every `flush_seconds` (or every `batch_rows` rows) in a single
transaction. `close()` (called on graceful shutdown, e.g. SIGTERM) drains the queue
before returning, so nothing accepted is lost.

Default store: SQLite in WAL mode (readers never block the writer, a crash never leaves
half a batch). Any SQLAlchemy URL works, e.g. PostgreSQL. `read_prediction_log` returns
the log as a data frame, one row per prediction, input columns expanded: the input to
monitoring.

One table serves every task: `prediction` is the answer as JSON text (a class label of
any type, or a regression value), `probability` is null for regression, and
`probabilities` holds a multiclass answer's class -> probability object as JSON (null
otherwise). The reader decodes them back to their types. A table written by an earlier
version (an integer `prediction`, no `probabilities`) is still read; writing to one is
refused at startup, naming the table, rather than failing batch after batch.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from lifecycle.config import PredictionLogSettings
from lifecycle.errors import LifecycleError

logger = logging.getLogger(__name__)

_STOP = object()
_RETRY_SECONDS = 1.0
_ATTEMPTS_AT_CLOSE = 3
OUTPUT_COLUMNS = [
    "request_id",
    "row_index",
    "logged_at",
    "model_version",
    "endpoint",
    "prediction",
    "probability",
    "unknown_categories",
    "latency_ms",
    "probabilities",
]


def log_table(name: str) -> Table:
    """The log's table: one row per predicted row."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("request_id", String(32), nullable=False, index=True),
        Column("row_index", Integer, nullable=False),
        Column("logged_at", DateTime(timezone=True), nullable=False),
        Column("model_version", String(64), nullable=False),
        Column("endpoint", String(32), nullable=False),
        Column("input", Text, nullable=False),
        Column("prediction", Text, nullable=False),  # JSON: a label of any type, or a value
        Column("probability", Float, nullable=True),  # null for regression
        Column("unknown_categories", Text, nullable=False),
        Column("latency_ms", Float, nullable=False),
        Column("probabilities", Text, nullable=True),  # JSON class -> probability (multiclass)
    )


def _is_text(column_type: Any) -> bool:
    try:
        return column_type.python_type is str
    except NotImplementedError:  # a type SQLAlchemy cannot map to Python
        return False


def _check_columns(engine: Engine, table: Table) -> None:
    """Refuse an existing table whose columns differ from the ones written (an older layout)."""
    existing = inspect(engine)
    if not existing.has_table(table.name):
        return
    found = {c["name"]: c["type"] for c in existing.get_columns(table.name)}
    missing = [c.name for c in table.columns if c.name not in found]
    prediction = found.get("prediction")
    if missing or (prediction is not None and not _is_text(prediction)):
        raise LifecycleError(
            f"prediction log table {table.name!r} at {engine.url} has an older layout "
            f"(missing {missing or 'none'}; prediction stored as {prediction}); this version "
            "stores any task's prediction as JSON text: set serve.log.table to a new table "
            "(the old one stays readable with read_prediction_log)"
        )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def log_engine(url: str) -> Engine:
    """An engine for the log's URL; SQLite files get their folder and WAL mode."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise LifecycleError(f"serve.log.url is not a SQLAlchemy URL: {error}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as error:
        raise LifecycleError(f"serve.log.url {parsed.render_as_string()}: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _json(value: Any) -> str:
    """JSON text through orjson: the writer thread runs under the server's GIL, and encoding
    the logged rows (the input row most) was its largest cost. Dates are ISO 8601, floats
    read back equal; nothing logged is NaN (validated inputs, model outputs)."""
    return orjson.dumps(value).decode()


def _stored(entry: dict[str, Any]) -> dict[str, Any]:
    probabilities = entry.get("probabilities")
    return {
        **entry,
        "input": _json(entry["input"]),
        "prediction": _json(entry["prediction"]),
        "probability": entry.get("probability"),
        "probabilities": None if probabilities is None else _json(probabilities),
        "unknown_categories": _json(entry["unknown_categories"]),
    }


class PredictionLog:
    """Append-only, batched, thread-safe writer of prediction entries."""

    def __init__(self, settings: PredictionLogSettings) -> None:
        self.settings = settings
        self.engine = log_engine(settings.url)
        self.table = log_table(settings.table)
        try:
            _check_columns(self.engine, self.table)
            self.table.metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError as error:
            raise LifecycleError(f"cannot open the prediction log at {self.engine.url}: {error}") from None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Queue entries for the writer; never blocks on the database."""
        self._queue.put(entries)

    def flush(self) -> None:
        """Block until everything appended so far is written."""
        written = threading.Event()
        self._queue.put(written)
        written.wait()

    def close(self) -> None:
        """Write everything queued, then stop the writer (graceful shutdown)."""
        self._queue.put(_STOP)
        self._thread.join()
        self.engine.dispose()

    def _collect(self) -> tuple[list[dict[str, Any]], list[threading.Event], bool]:
        """Wait for entries, then gather more until the batch is full or flush_seconds pass."""
        pending: list[dict[str, Any]] = []
        waiters: list[threading.Event] = []
        item = self._queue.get()
        deadline = time.monotonic() + self.settings.flush_seconds
        while True:
            if item is _STOP:
                return pending, waiters, True
            if isinstance(item, threading.Event):
                waiters.append(item)
                return pending, waiters, False
            pending.extend(item)
            remaining = deadline - time.monotonic()
            if len(pending) >= self.settings.batch_rows or remaining <= 0:
                return pending, waiters, False
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return pending, waiters, False

    def _write(self, entries: list[dict[str, Any]], attempts: int | None) -> None:
        """Insert in one transaction; retry on database errors (forever while serving)."""
        rows = [_stored(e) for e in entries]
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.engine.begin() as connection:
                    connection.execute(self.table.insert(), rows)
                return
            except SQLAlchemyError:
                logger.exception("prediction log: writing %d rows failed (attempt %d)", len(rows), attempt)
                if attempts is not None and attempt >= attempts:
                    logger.error("prediction log: gave up; %d predictions were not logged", len(rows))
                    return
                time.sleep(_RETRY_SECONDS)

    def _run(self) -> None:
        stopping = False
        while True:
            pending, waiters, stop = self._collect()
            stopping = stopping or stop
            if stopping:  # drain whatever is still queued
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, threading.Event):
                        waiters.append(item)
                    elif item is not _STOP:
                        pending.extend(item)
            if pending:
                self._write(pending, _ATTEMPTS_AT_CLOSE if stopping else None)
            for waiter in waiters:
                waiter.set()
            if stopping:
                return


def _decoded(values: pd.Series) -> list[Any]:
    """JSON texts back to values; null as None; a value that is not text (the integer
    prediction of an older log) as it is."""
    return [json.loads(v) if isinstance(v, str) else None if pd.isna(v) else v for v in values]


def read_prediction_log(
    url: str, table: str = "predictions", since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The log as a data frame: one row per prediction, input fields as columns, oldest first;
    with `since` / `until`, only the predictions logged in [since, until) (read by the database).

    `prediction` holds the logged values with their JSON types (an integer column for
    integer labels, float for regression values, text labels as str); `probability` is
    NaN where there is none (regression); `probabilities` is a class -> probability dict
    for multiclass rows, else None. An input field named like an output column gets the
    suffix `_input`.
    """
    engine = log_engine(url)
    try:
        with engine.connect() as connection:
            # Reflected, not declared: a table of an earlier layout is read as it is.
            logged = Table(table, MetaData(), autoload_with=connection)
            query = select(logged).order_by(logged.c.id)
            if since is not None:
                query = query.where(logged.c.logged_at >= since)
            if until is not None:
                query = query.where(logged.c.logged_at < until)
            frame = pd.read_sql(query, connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as error:
        raise LifecycleError(f"cannot read the prediction log {table!r} at {engine.url}: {error}") from None
    finally:
        engine.dispose()
    inputs = pd.DataFrame.from_records([json.loads(text) for text in frame["input"]], index=frame.index)
    if "probabilities" not in frame:
        frame["probabilities"] = None
    outputs = frame[OUTPUT_COLUMNS].copy()
    outputs["logged_at"] = pd.to_datetime(outputs["logged_at"], utc=True)
    outputs["prediction"] = pd.Series(_decoded(outputs["prediction"]), index=outputs.index)
    outputs["probability"] = pd.to_numeric(outputs["probability"]).astype("float64")
    outputs["probabilities"] = pd.Series(_decoded(outputs["probabilities"]), index=outputs.index, dtype=object)
    outputs["unknown_categories"] = [json.loads(text) for text in outputs["unknown_categories"]]
    return outputs.join(inputs, suffixes=("", "_input"))


def now() -> datetime:
    """The time stamped on log entries (UTC)."""
    return datetime.now(UTC)
