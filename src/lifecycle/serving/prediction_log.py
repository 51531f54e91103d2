"""The prediction log: every served prediction, appended in batches off the request path.

Why batched in a background thread: a database write per request would put a commit
(an fsync) on every request's latency. Requests only put their record on a queue; one
writer thread drains it every `flush_seconds` (or every `batch_rows` predicted rows) in a
single transaction. `close()` (called on graceful shutdown, e.g. SIGTERM) drains the queue
before returning, so nothing accepted is lost.

Why one record per request, not per row: the writer shares the server's cores (and its
GIL), and building, encoding and inserting a row per prediction cost a 100-row request
more CPU than scoring it (README, Serve). A request's rows are stored as one record: its
inputs as one JSON object of columns (`{"columns": {"field": [a value per row], ...}}`),
its answers as JSON arrays aligned with them. The reader expands them back to one row per
prediction, so what monitoring reads did not change. Why columns: each field named once
rather than once per row, a 100-row flights request's inputs are 25 KB instead of the 64 KB
of JSON lines (how earlier versions stored them; still read): the log of a week is half
the size, and the writer, which shares the server's cores, inserts less (README, Serve).

Default store: SQLite in WAL mode (readers never block the writer, a crash never leaves
half a batch). Any SQLAlchemy URL works, e.g. PostgreSQL. `read_prediction_log` returns
the log as a data frame, one row per prediction, input columns expanded: the input to
monitoring. It reads in chunks and parses the inputs' JSON with Arrow, so a week of a
million predictions reads in seconds and a fraction of the memory a dict per row took.

Prediction requests refused with a 4xx (nothing scored) go to a second table through the
same writer (`rejected_table`, `read_rejected_requests`), so the monitor can count them per
window.

One table serves every task: `predictions` holds the answers (class labels of any type,
or regression values), `probabilities` each row's probability (null for regression), and
`class_probabilities` a multiclass answer's class -> probability object per row (null
otherwise). The reader decodes them back to their types. A table written by an earlier
version (a row per prediction) is still read; writing to one is refused at startup, naming
the table, rather than failing batch after batch.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import operator
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from pyarrow import json as pa_json
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
    type_coerce,
)
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from lifecycle.config import PredictionLogSettings
from lifecycle.errors import LifecycleError

logger = logging.getLogger(__name__)

_STOP = object()
_RETRY_SECONDS = 1.0
_ATTEMPTS_AT_CLOSE = 3
REASON_CHARS = 200  # of a rejected request's error message, as stored
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
    """The log's table: one record per answered request, its rows' inputs and answers aligned."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("request_id", String(32), nullable=False, index=True),
        # indexed: the monitor reads a window (and the windows before it) of a log of months
        Column("logged_at", DateTime(timezone=True), nullable=False, index=True),
        Column("model_version", String(64), nullable=False),
        Column("endpoint", String(32), nullable=False),
        Column("row_count", Integer, nullable=False),
        Column("inputs", Text, nullable=False),  # {"columns": {field: [value per row]}} (or JSON lines)
        Column("predictions", Text, nullable=False),  # JSON array: a label of any type, or a value
        Column("probabilities", Text, nullable=True),  # JSON array; null for regression
        Column("class_probabilities", Text, nullable=True),  # JSON array of class -> probability (multiclass)
        Column("unknown_categories", Text, nullable=False),  # JSON array of each row's list
        Column("latency_ms", Float, nullable=False),
    )


def rejected_table(name: str) -> Table:
    """The rejected requests' table: one row per prediction request answered 4xx (nothing
    scored), so the monitor can count them per window, which Prometheus' counters since
    the process started cannot."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("request_id", String(32), nullable=False, index=True),
        Column("logged_at", DateTime(timezone=True), nullable=False, index=True),
        Column("model_version", String(64), nullable=False),
        Column("endpoint", String(32), nullable=False),
        Column("status", Integer, nullable=False),
        Column("reason", String(REASON_CHARS), nullable=False),  # the answer's error, shortened
    )


def _check_columns(engine: Engine, table: Table) -> None:
    """Refuse an existing table whose columns differ from the ones written (an older layout)."""
    existing = inspect(engine)
    if not existing.has_table(table.name):
        return
    found = {c["name"] for c in existing.get_columns(table.name)}
    missing = [c.name for c in table.columns if c.name not in found]
    if missing:
        raise LifecycleError(
            f"prediction log table {table.name!r} at {engine.url} has an older layout (missing {missing}); "
            "this version logs one record per request: set serve.log.table to a new table "
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


# How a record's inputs stored as columns begin (as orjson writes them): a record of JSON
# lines begins with a row, an object whose values are never objects.
COLUMNS_PREFIX = '{"columns":{'


def stored_inputs(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as the log stores them: as columns, each field in the first row's order with
    its values in the rows' order; as JSON lines where the rows do not all hold the same
    fields (validated rows always do), so that a field a row omits stays omitted."""
    names = list(rows[0])
    # one tuple of fields per row then transposed: a third of the time of a list per field
    fields = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    if all(len(row) == len(names) for row in rows):
        try:
            return _json({"columns": dict(zip(names, zip(*map(fields, rows), strict=True), strict=True))})
        except KeyError:  # as many fields, not the same ones
            pass
    return b"\n".join(map(orjson.dumps, rows)).decode()


def _json(value: Any) -> str:
    """JSON text through orjson: the writer thread runs under the server's GIL, and encoding
    the logged rows (the inputs most) was its largest cost. Dates are ISO 8601, floats
    read back equal; nothing logged is NaN (validated inputs, model outputs)."""
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request as the log stores it: its rows and their answers, aligned."""

    request_id: str
    logged_at: datetime
    model_version: str
    endpoint: str
    latency_ms: float
    inputs: Sequence[dict[str, Any]]  # the validated rows
    predictions: Sequence[Any]  # class labels, or predicted values for regression
    unknown_categories: Sequence[list[str]]  # per row: its categories never seen in training
    probabilities: Sequence[float] | None = None  # per row; None for regression
    class_probabilities: Sequence[dict[str, float]] | None = None  # per row; multiclass only

    def __len__(self) -> int:
        return len(self.inputs)

    def stored(self) -> dict[str, Any]:
        """The record as the table holds it: the inputs as columns, the answers as arrays."""
        return {
            "request_id": self.request_id,
            "logged_at": self.logged_at,
            "model_version": self.model_version,
            "endpoint": self.endpoint,
            "row_count": len(self.inputs),
            "inputs": stored_inputs(self.inputs),
            "predictions": _json(self.predictions),
            "probabilities": None if self.probabilities is None else _json(self.probabilities),
            "class_probabilities": None if self.class_probabilities is None else _json(self.class_probabilities),
            "unknown_categories": _json(self.unknown_categories),
            "latency_ms": self.latency_ms,
        }


@dataclass(frozen=True)
class BulkInsert:
    """An INSERT of every column but the key, compiled once and run by the database driver's
    executemany.

    Why not `connection.execute(table.insert(), rows)`: SQLAlchemy builds each row's
    parameters in Python, and in the writer, which shares the server's GIL with the
    requests, that cost more than the database's own insert (README, Serve). Here the rows
    become tuples (or dicts, for a driver with named parameters) in one pass, and each value
    goes through its column's own bind processor, so the database stores exactly what
    SQLAlchemy's insert stores (tested on SQLite and PostgreSQL)."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (place in `names`, processor)

    @classmethod
    def of(cls, table: Table, dialect: Dialect) -> BulkInsert:
        columns = [c.name for c in table.columns if not c.primary_key]
        compiled = table.insert().compile(dialect=dialect, column_keys=columns, for_executemany=True)
        names = tuple(compiled.positiontup or columns) if compiled.positional else tuple(columns)
        processors = tuple(
            (place, process)
            for place, name in enumerate(names)
            if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        return cls(compiled.string, names, compiled.positional, processors)

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Each row's values in the statement's order, through their bind processors."""
        values = list(map(operator.itemgetter(*self.names), rows))
        if self.processors:
            columns = list(zip(*values))
            for place, process in self.processors:
                columns[place] = _processed(process, columns[place])
            values = list(zip(*columns))
        return values if self.positional else [dict(zip(self.names, row)) for row in values]

    def run(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        connection.exec_driver_sql(self.sql, self.parameters(rows))


def _processed(process: Callable[[Any], Any], column: Sequence[Any]) -> list[Any]:
    """`process` of each value, computed once for a run of the same object (a request's rows
    share one time stamp)."""
    results: list[Any] = []
    last: Any = results  # no value is this list
    result = None
    for value in column:
        if value is not last:
            last, result = value, process(value)
        results.append(result)
    return results


@dataclass(frozen=True)
class _Rejected:
    """Rejected requests, as queued for the writer beside answered ones."""

    entries: list[dict[str, Any]]


@dataclass
class _Batch:
    """What one transaction writes: answered requests and rejected ones."""

    requests: list[LoggedRequest] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0  # predicted rows and rejected requests: what `batch_rows` bounds

    def add(self, item: LoggedRequest | _Rejected) -> None:
        if isinstance(item, _Rejected):
            self.rejected.extend(item.entries)
            self.rows += len(item.entries)
        else:
            self.requests.append(item)
            self.rows += len(item)


class PredictionLog:
    """Append-only, batched, thread-safe writer of answered and rejected requests."""

    def __init__(self, settings: PredictionLogSettings) -> None:
        self.settings = settings
        self.engine = log_engine(settings.url)
        self.table = log_table(settings.table)
        self.rejected_table = rejected_table(settings.rejected_table)
        try:
            _check_columns(self.engine, self.table)
            self.table.metadata.create_all(self.engine, checkfirst=True)
            self.rejected_table.metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError as error:
            raise LifecycleError(f"cannot open the prediction log at {self.engine.url}: {error}") from None
        self._inserts = (
            BulkInsert.of(self.table, self.engine.dialect),
            BulkInsert.of(self.rejected_table, self.engine.dialect),
        )
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._wake = threading.Event()  # set by flush and close; appends never wake the writer
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def append(self, request: LoggedRequest) -> None:
        """Queue an answered request for the writer; never blocks on the database."""
        self._queue.put(request)

    def append_rejected(self, request_id: str, endpoint: str, status: int, reason: str, model_version: str) -> None:
        """Queue a request answered `status` without a prediction; never blocks on the database."""
        entry = {
            "request_id": request_id,
            "logged_at": now(),
            "model_version": model_version,
            "endpoint": endpoint,
            "status": status,
            "reason": reason[:REASON_CHARS],
        }
        self._queue.put(_Rejected([entry]))

    def flush(self) -> None:
        """Block until everything appended so far is written."""
        written = threading.Event()
        self._queue.put(written)
        self._wake.set()
        written.wait()

    def close(self) -> None:
        """Write everything queued, then stop the writer (graceful shutdown)."""
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join()
        self.engine.dispose()

    def _collect(self) -> tuple[_Batch, list[threading.Event], bool]:
        """Wait for a request, then gather more until the batch is full or flush_seconds pass."""
        pending = _Batch()
        waiters: list[threading.Event] = []
        item = self._queue.get()
        deadline = time.monotonic() + self.settings.flush_seconds
        while True:
            if item is _STOP:
                return pending, waiters, True
            if isinstance(item, threading.Event):
                waiters.append(item)
                return pending, waiters, False
            pending.add(item)
            if pending.rows >= self.settings.batch_rows:
                return pending, waiters, False
            item = self._next(deadline)
            if item is None:
                return pending, waiters, False

    def _next(self, deadline: float) -> Any:
        """The next queued item, or None once `deadline` passes with the queue empty.

        Why not `get(timeout=...)`: a writer waiting on the queue is woken by every append,
        and each wake passed the GIL to the writer and back in the middle of a request: 8 % of
        the server's CPU on 100-row requests (README, Serve). Here it sleeps to the deadline
        and then takes everything queued meanwhile; only flush and close wake it early."""
        while True:
            self._wake.clear()  # before looking: a wake set after this finds its item queued
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._wake.wait(remaining)

    def _write(self, batch: _Batch, attempts: int | None) -> None:
        """Insert in one transaction; retry on database errors (forever while serving)."""
        records = []
        for request in batch.requests:
            try:
                records.append(request.stored())
            except TypeError:  # a value JSON cannot hold: the request is lost, not the writer
                logger.exception("prediction log: request %s cannot be encoded; not logged", request.request_id)
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.engine.begin() as connection:
                    for insert, written in zip(self._inserts, (records, batch.rejected)):
                        if written:
                            insert.run(connection, written)
                return
            except SQLAlchemyError:
                logger.exception("prediction log: writing %d rows failed (attempt %d)", batch.rows, attempt)
                if attempts is not None and attempt >= attempts:
                    logger.error(
                        "prediction log: gave up; %d predictions and %d rejected requests were not logged",
                        batch.rows - len(batch.rejected),
                        len(batch.rejected),
                    )
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
                        pending.add(item)
            if pending.rows:
                self._write(pending, _ATTEMPTS_AT_CLOSE if stopping else None)
            for waiter in waiters:
                waiter.set()
            if stopping:
                return


# Logged rows decoded at a time (`chunk_rows`): the raw JSON texts of one chunk are all the
# reader holds beside the decoded frame, whatever the window's size.
READ_ROWS = 50_000


class _NotTabular(Exception):
    """Logged inputs that do not parse as one typed column per field (a field holding numbers
    in some rows and text in others, say, across model versions): decoded row by row."""


def decoded(values: Sequence[Any]) -> list[Any]:
    """JSON texts back to values; null as None; a value that is not text (the integer
    prediction of an older log) as it is. Texts only (every log of this layout) are decoded
    as one JSON array: the same values as `json.loads` of each, in one call (the labels
    tables' readers use it too)."""
    if all(isinstance(v, str) for v in values):
        return json.loads("[" + ",".join(values) + "]")
    return [json.loads(v) if isinstance(v, str) else None if v is None or v != v else v for v in values]


def _tabular_inputs(texts: Sequence[str], rows: int, as_text: dict[str, pa.DataType]) -> pa.Table:
    """One chunk of inputs as an Arrow table, no Python dict per row: each run of records
    stored as columns decoded into an array per field, each run of JSON lines parsed by
    Arrow's JSON reader (C++, no Python object per value); in order.

    Arrow reads an ISO date-time string as a timestamp; `json.loads` leaves it a string, and
    so does this: a field Arrow typed as a date or time is parsed again as text, and stays
    text in `as_text` for the chunks after. Anything else a row-by-row decode would give
    differently (nested values, rows that are not one object per line, a record whose
    fields are not each one value per row) raises _NotTabular.
    """
    try:
        runs = [
            _columns_table(list(run)) if columnar else _lines_table(list(run), as_text)
            for columnar, run in itertools.groupby(texts, operator.methodcaller("startswith", COLUMNS_PREFIX))
        ]
        table = runs[0] if len(runs) == 1 else pa.concat_tables(runs, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise _NotTabular(str(error)) from None
    if table.num_rows != rows or any(pa.types.is_nested(f.type) for f in table.schema):
        raise _NotTabular("not one flat object per row")
    return table


def _lines_table(texts: Sequence[str], as_text: dict[str, pa.DataType]) -> pa.Table:
    """Records of JSON lines, an object per row, parsed by Arrow: the fields `as_text` names
    as text, the date-times it finds added to them and parsed again."""

    def parse() -> pa.Table:
        options = pa_json.ParseOptions(explicit_schema=pa.schema(as_text), unexpected_field_behavior="infer")
        return pa_json.read_json(io.BytesIO("\n".join(texts).encode()), parse_options=options)

    table = parse()
    if temporal := [f.name for f in table.schema if pa.types.is_temporal(f.type)]:
        as_text.update(dict.fromkeys(temporal, pa.string()))
        table = parse()
    return table


def _columns_table(texts: Sequence[str]) -> pa.Table:
    """Records stored as columns, decoded by orjson, each field's values laid end to end in
    one Arrow array, typed as `json.loads` types them (date-times stay text). Why not
    Arrow's JSON reader: on real logs (pyarrow 26.0) it built a field's lists whose values
    did not add up to their lengths when the field's first values were null."""
    fields: dict[str, list[Any]] = {}
    rows = 0
    for text in texts:
        columns = orjson.loads(text)["columns"]
        count = len(next(iter(columns.values()), ()))
        for name, values in columns.items():
            if len(values) != count:
                raise _NotTabular("a record's fields are not each one value per row")
            fields.setdefault(name, [None] * rows).extend(values)  # a field new here: null before
        rows += count
        for values in fields.values():  # a field this record does not hold: null
            values.extend([None] * (rows - len(values)))
    try:
        return pa.table({name: pa.array(values) for name, values in fields.items()})
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise _NotTabular(str(error)) from None


def _stored_rows(text: str) -> list[Any]:
    """A record's stored inputs, a dict per row, whichever way they were stored: keys in the
    stored order, values as `json.loads` gives them."""
    if not text.startswith(COLUMNS_PREFIX):
        return decoded(text.split("\n"))
    columns = orjson.loads(text)["columns"]
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _tables_frame(tables: list[pa.Table], first_text: str) -> pd.DataFrame:
    """The chunks' Arrow tables as one frame, columns in the order `from_records` gives (the
    first row's fields, then fields as they first appear). Consumes `tables`."""
    try:  # a field typed differently by two chunks: an integer and a fraction make a fraction
        parsed = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise _NotTabular(str(error)) from None
    tables.clear()  # so converting frees each column's Arrow buffers as it goes
    inputs = parsed.to_pandas(split_blocks=True, self_destruct=True)
    first_row = json.loads(first_text)
    if first_text.startswith(COLUMNS_PREFIX):
        first_row = first_row["columns"]
    first = [name for name in first_row if name in inputs]
    return inputs[[*first, *(name for name in inputs if name not in first)]]


# Records fetched from the database at a time, regrouped into chunks of `chunk_rows` rows.
FETCH_RECORDS = 1000
# Each answer's column in a record of this layout (a JSON array per request).
ANSWER_COLUMNS = {
    "prediction": "predictions",
    "probability": "probabilities",
    "probabilities": "class_probabilities",
    "unknown_categories": "unknown_categories",
}


def _regrouped(partitions: Iterator[Sequence[Any]], size: Callable[[Any], int], rows: int) -> Iterator[list[Any]]:
    """The fetched records in groups of `rows` logged rows or just more (the last one fewer)."""
    held: list[Any] = []
    count = 0
    for partition in partitions:
        for record in partition:
            held.append(record)
            count += size(record)
            if count >= rows:
                yield held
                held, count = [], 0
    if held:
        yield held


def _flat(arrays: list[Any], counts: Sequence[int]) -> list[Any]:
    """Each request's array as one list, a value per row; a request's null as a null per row."""
    return list(
        itertools.chain.from_iterable(
            [None] * count if values is None else values for values, count in zip(arrays, counts, strict=True)
        )
    )


def _expanded(chunk: dict[str, Sequence[Any]]) -> tuple[pd.DataFrame, list[str], dict[str, list[Any]]]:
    """A chunk of records (column -> values) as one row per prediction: the other columns,
    the inputs as stored (columns or JSON lines), and the answers decoded. A record of this
    layout is a request, its columns repeated for each of its rows; of the older layout,
    one row."""
    if "row_count" not in chunk:
        texts = list(chunk.pop("input"))
        answers = {"probability": list(chunk.pop("probability"))}
        for name in ("prediction", "probabilities", "unknown_categories"):
            answers[name] = decoded(chunk.pop(name)) if name in chunk else [None] * len(texts)
        return pd.DataFrame({name: list(values) for name, values in chunk.items()}), texts, answers
    counts = np.asarray(chunk.pop("row_count"), dtype=np.int64)
    texts = list(chunk.pop("inputs"))
    answers = {name: _flat(decoded(chunk.pop(stored)), counts) for name, stored in ANSWER_COLUMNS.items()}
    frame = pd.DataFrame({name: np.repeat(np.asarray(values), counts) for name, values in chunk.items()})
    frame["row_index"] = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return frame, texts, answers


def _read(
    url: str, table: str, since: datetime | None, until: datetime | None, chunk_rows: int, tabular: bool
) -> pd.DataFrame:
    """The window of the log, decoded about `chunk_rows` rows at a time; the inputs parsed as
    Arrow tables (`tabular`) or by `json.loads` per row."""
    engine = log_engine(url)
    outputs: list[pd.DataFrame] = []
    tables: list[pa.Table] = []  # the inputs, parsed by Arrow
    records: list[dict[str, Any]] = []  # or decoded row by row
    answers: dict[str, list[Any]] = {name: [] for name in ANSWER_COLUMNS}
    as_text: dict[str, pa.DataType] = {}
    first_text = ""
    read = {*OUTPUT_COLUMNS, "input", *(c.name for c in log_table(table).columns if not c.primary_key)}
    try:
        with engine.connect() as connection:
            # Reflected, not declared: a table of an earlier layout is read as it is.
            logged = Table(table, MetaData(), autoload_with=connection)
            # logged_at as the database gives it (SQLite: text), parsed once for all rows below
            columns = [
                type_coerce(c, String()).label(c.name) if c.name == "logged_at" else c
                for c in logged.columns
                if c.name in read
            ]
            query = select(*columns).order_by(logged.c.id)
            if since is not None:
                query = query.where(logged.c.logged_at >= since)
            if until is not None:
                query = query.where(logged.c.logged_at < until)
            result = connection.execution_options(yield_per=FETCH_RECORDS).execute(query)
            names = list(result.keys())
            size = operator.attrgetter("row_count") if "row_count" in names else lambda _: 1
            for group in _regrouped(result.partitions(), size, chunk_rows):
                frame, texts, decoded_answers = _expanded(dict(zip(names, zip(*group, strict=True), strict=True)))
                first_text = first_text or texts[0].split("\n", 1)[0]
                if tabular:
                    tables.append(_tabular_inputs(texts, len(frame), as_text))
                else:
                    records += [row for text in texts for row in _stored_rows(text)]
                for name, values in decoded_answers.items():
                    answers[name] += values
                outputs.append(frame)
    except (SQLAlchemyError, pd.errors.DatabaseError) as error:
        raise LifecycleError(f"cannot read the prediction log {table!r} at {engine.url}: {error}") from None
    finally:
        engine.dispose()
    frame = pd.concat(outputs, ignore_index=True) if outputs else pd.DataFrame(columns=OUTPUT_COLUMNS)
    frame["logged_at"] = pd.to_datetime(frame["logged_at"], utc=True, format="ISO8601")
    frame["prediction"] = pd.Series(answers["prediction"], index=frame.index)
    frame["probability"] = np.array(answers["probability"], dtype=np.float64)
    frame["latency_ms"] = frame["latency_ms"].astype("float64")
    for name in ("probabilities", "unknown_categories"):
        frame[name] = pd.Series(answers[name], index=frame.index, dtype=object)
    inputs = _tables_frame(tables, first_text) if tables else pd.DataFrame.from_records(records)
    # side by side without copying either (a join would); an input named like an output is renamed
    inputs = inputs.rename(columns={name: f"{name}_input" for name in inputs if name in OUTPUT_COLUMNS})
    return pd.concat([frame[OUTPUT_COLUMNS], inputs.set_axis(frame.index)], axis=1)


def read_prediction_log(
    url: str,
    table: str = "predictions",
    since: datetime | None = None,
    until: datetime | None = None,
    chunk_rows: int = READ_ROWS,
) -> pd.DataFrame:
    """The log as a data frame: one row per prediction, input fields as columns, oldest first;
    with `since` / `until`, only the predictions logged in [since, until) (read by the database).

    `prediction` holds the logged values with their JSON types (an integer column for
    integer labels, float for regression values, text labels as str); `probability` is
    NaN where there is none (regression); `probabilities` is a class -> probability dict
    for multiclass rows, else None. An input field named like an output column gets the
    suffix `_input`. The input columns are what `json.loads` of each row would give: a
    million rows are parsed by Arrow, in seconds and a fraction of the memory of a dict per
    row; inputs Arrow cannot type column by column are decoded row by row instead.
    """
    try:
        return _read(url, table, since, until, chunk_rows, tabular=True)
    except _NotTabular as reason:
        logger.info("prediction log %r: inputs decoded row by row (%s)", table, reason)
        return _read(url, table, since, until, chunk_rows, tabular=False)


def read_rejected_requests(
    url: str, table: str = "rejected_requests", since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame | None:
    """The rejected requests logged in [since, until), oldest first: request_id, logged_at,
    model_version, endpoint, status and reason. None when the database has no such table: a
    log written before rejected requests were recorded."""
    engine = log_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(table):
                return None
            stored = rejected_table(table)
            query = select(*(c for c in stored.columns if c.name != "id")).order_by(stored.c.id)
            if since is not None:
                query = query.where(stored.c.logged_at >= since)
            if until is not None:
                query = query.where(stored.c.logged_at < until)
            frame = pd.read_sql(query, connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as error:
        raise LifecycleError(f"cannot read the rejected requests {table!r} at {engine.url}: {error}") from None
    finally:
        engine.dispose()
    frame["logged_at"] = pd.to_datetime(frame["logged_at"], utc=True)
    return frame


def now() -> datetime:
    """The time stamped on log entries (UTC)."""
    return datetime.now(UTC)
