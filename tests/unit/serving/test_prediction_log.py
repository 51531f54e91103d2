"""The prediction log: batched writes off the request path, nothing lost, readable as a frame."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from lifecycle.config import PredictionLogSettings
from lifecycle.errors import LifecycleError
from lifecycle.serving.prediction_log import (
    OUTPUT_COLUMNS,
    REASON_CHARS,
    BulkInsert,
    LoggedRequest,
    PredictionLog,
    log_engine,
    log_table,
    read_prediction_log,
    read_rejected_requests,
    rejected_table,
)
from tests.support.postgres import drop_table, postgres_url
from tests.support.samples import Interim
from tests.support.serving import json_rows


def logged(request: int, rows: int) -> LoggedRequest:
    """A request of `rows` rows, as the service logs it: row 0 has no unseen category, the others `dest`."""
    return LoggedRequest(
        request_id=f"{request:032x}",
        logged_at=datetime.now(UTC),
        model_version="v1",
        endpoint="/predict",
        latency_ms=1.5,
        inputs=[{"origin": "JFK", "distance": float(request), "time_hour": datetime(2013, 5, 1, tzinfo=UTC)}] * rows,
        predictions=[request % 2] * rows,
        unknown_categories=[["dest"] if i else [] for i in range(rows)],
        probabilities=[0.25] * rows,
    )


def hammer(log: PredictionLog, writers: int, requests: int) -> int:
    """Append from many threads at once; returns the number of rows appended."""

    def write(worker: int) -> None:
        for n in range(requests):
            log.append(logged(worker * requests + n, 1 + n % 3))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return writers * sum(1 + n % 3 for n in range(requests))


def test_concurrent_appends_are_all_written_once_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logs' / 'predictions.sqlite'}"
    log = PredictionLog(PredictionLogSettings(url=url, batch_rows=50, flush_seconds=0.01))
    appended = hammer(log, writers=16, requests=40)
    log.close()  # graceful shutdown: everything queued is written
    frame = read_prediction_log(url)
    assert len(frame) == appended
    assert not frame.duplicated(["request_id", "row_index"]).any()
    assert frame["request_id"].nunique() == 16 * 40
    with create_engine(url).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_reader_returns_inputs_as_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    log = PredictionLog(PredictionLogSettings(url=url))
    log.append(logged(7, 2))
    log.flush()
    frame = read_prediction_log(url)
    log.close()
    assert frame.columns[:9].tolist() == [
        "request_id",
        "row_index",
        "logged_at",
        "model_version",
        "endpoint",
        "prediction",
        "probability",
        "unknown_categories",
        "latency_ms",
    ]
    assert frame[["origin", "distance", "time_hour"]].values.tolist() == [["JFK", 7.0, "2013-05-01T00:00:00+00:00"]] * 2
    assert frame["unknown_categories"].tolist() == [[], ["dest"]]
    assert str(frame["logged_at"].dt.tz) == "UTC"


def stored_rows(stored: str) -> list[dict[str, Any]]:
    """A record's inputs decoded by `json`: an object of columns, or JSON lines."""
    first = json.loads(stored.split("\n", 1)[0])
    if list(first) == ["columns"] and isinstance(first["columns"], dict):
        columns = first["columns"]
        return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return [json.loads(line) for line in stored.split("\n")]


def logged_inputs(url: str, table: str, rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, list[str]]:
    """Log the rows in requests of 1 to 5 rows; return the input columns as the reader decoded
    them before it parsed inputs with Arrow (`json.loads` of each stored row, one record
    each), and the stored texts."""
    log = PredictionLog(PredictionLogSettings(url=url, table=table))
    start, request = 0, 0
    while start < len(rows):
        inputs = rows[start : start + 1 + request % 5]
        log.append(replace(logged(request, len(inputs)), inputs=inputs))
        start, request = start + len(inputs), request + 1
    log.close()
    with create_engine(url).connect() as connection:
        texts = connection.execute(text(f"SELECT inputs FROM {table} ORDER BY id")).scalars().all()
    return pd.DataFrame.from_records([row for stored in texts for row in stored_rows(stored)]), texts


def mixed_rows() -> list[dict[str, Any]]:
    """Inputs of two model versions: `gate` a number, then text; `delay` whole, then fractional."""
    return [
        *({"gate": n, "delay": n, "origin": "JFK"} for n in range(300)),
        *({"gate": f"B{n}", "delay": n + 0.5, "origin": None} for n in range(300)),
    ]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_inputs_read_in_chunks_are_what_json_loads_of_each_row_gives(
    interim: Interim, tmp_path: Path, database: str
) -> None:
    """Real flights (missing values, ISO date-times, categories) read 250 rows at a time: the
    input columns equal the row-by-row decode, dtypes and column order included; so do inputs
    whose types change between rows, which Arrow cannot type column by column. Requests whose
    rows hold the same fields are stored as columns (each field named once), the others as
    JSON lines (a row without a missing value's field keeps it out), and a log holding both
    reads in order."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}" if database == "sqlite" else postgres_url()
    # time_hour as the request model hands it to the log: a datetime, written in ISO 8601
    flights = [
        {**row, "time_hour": datetime.fromisoformat(row["time_hour"])} for row in json_rows(interim[1].head(1000))
    ]
    # every seventh row without its wind gust: the requests holding one are stored as JSON lines
    flights = [{k: v for k, v in row.items() if k != "wind_gust" or i % 7} for i, row in enumerate(flights)]
    cases = {"flights": flights, "mixed": mixed_rows()}
    tables = {name: f"predictions_{name}_{uuid.uuid4().hex[:8]}" for name in cases}
    try:
        for name, rows in cases.items():
            expected, texts = logged_inputs(url, tables[name], rows)
            sent = [json.loads(json.dumps(row, default=datetime.isoformat)) for row in rows]
            pd.testing.assert_frame_equal(expected, pd.DataFrame.from_records(sent))  # stored as logged
            if name == "flights":
                as_columns = [stored for stored in texts if stored.startswith('{"columns":{')]
                assert 0 < len(as_columns) < len(texts)
                assert all(stored.count('"origin"') == 1 for stored in as_columns)
            frame = read_prediction_log(url, tables[name], chunk_rows=250)
            pd.testing.assert_frame_equal(frame[frame.columns[len(OUTPUT_COLUMNS) :]], expected)
            assert len(frame) == len(rows) and frame.columns[: len(OUTPUT_COLUMNS)].tolist() == OUTPUT_COLUMNS
        assert frame["gate"].tolist()[299:301] == [299, "B0"]
    finally:
        if database == "postgresql":
            for table in tables.values():
                drop_table(url, table)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_rejected_requests_are_written_beside_the_predictions_and_read_by_window(tmp_path: Path, database: str) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}" if database == "sqlite" else postgres_url()
    suffix = uuid.uuid4().hex[:8]
    table, rejected = f"predictions_{suffix}", f"rejected_{suffix}"
    log = PredictionLog(PredictionLogSettings(url=url, table=table, rejected_table=rejected, flush_seconds=30))
    try:
        log.append(logged(1, 2))
        log.append_rejected("a" * 32, "/predict", 422, "invalid input: " + "x" * 500, "v1")
        log.flush()
        between = datetime.now(UTC)
        log.append_rejected("b" * 32, "/invocations", 413, "too many rows", "v1")
        log.close()
        frame = read_rejected_requests(url, rejected)
        assert frame is not None and len(read_prediction_log(url, table)) == 2
        assert frame[["request_id", "endpoint", "status"]].values.tolist() == [
            ["a" * 32, "/predict", 422],
            ["b" * 32, "/invocations", 413],
        ]
        assert len(frame["reason"].iloc[0]) == REASON_CHARS and str(frame["logged_at"].dt.tz) == "UTC"
        later = read_rejected_requests(url, rejected, since=between)
        assert later is not None and later["status"].tolist() == [413]
        assert read_rejected_requests(url, f"never_{suffix}") is None  # not recorded, not an error
    finally:
        if database == "postgresql":
            drop_table(url, table)
            drop_table(url, rejected)


def finishes(call: Any, seconds: float = 10) -> bool:
    """Whether `call()` returns within `seconds` (run in a thread left behind if it does not)."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_flush_and_close_wake_the_writer_waiting_for_its_batch(tmp_path: Path) -> None:
    """Appends never wake the writer; flush and close do, long before the 30 s window ends."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    log = PredictionLog(PredictionLogSettings(url=url, flush_seconds=30))  # would wait 30 s unflushed
    log.append(logged(1, 3))
    log.append(logged(2, 2))
    time.sleep(0.5)  # the writer holds them, waiting for the window's end
    assert finishes(log.flush)
    assert len(read_prediction_log(url)) == 5
    log.append(logged(3, 1))
    time.sleep(0.5)
    assert finishes(log.close)
    assert len(read_prediction_log(url)) == 6


def test_bad_url_is_named(tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match="not a SQLAlchemy URL"):
        PredictionLog(PredictionLogSettings(url="no url at all"))
    with pytest.raises(LifecycleError, match="cannot read the prediction log 'predictions'"):
        read_prediction_log(f"sqlite:///{tmp_path / 'empty.sqlite'}")


def test_concurrent_appends_are_all_written_once_postgresql() -> None:
    url = postgres_url()
    table = f"predictions_test_{uuid.uuid4().hex[:8]}"
    log = PredictionLog(PredictionLogSettings(url=url, table=table, batch_rows=50, flush_seconds=0.01))
    try:
        appended = hammer(log, writers=8, requests=25)
        log.close()
        frame = read_prediction_log(url, table)
        assert len(frame) == appended and not frame.duplicated(["request_id", "row_index"]).any()
    finally:
        drop_table(url, table)


# --- every task: labels of any type, regression values, class probabilities ------------


def task_requests() -> list[LoggedRequest]:
    """One request per kind of answer: binary, multiclass with text labels, regression."""
    base = logged(15, 1)
    return [
        replace(base, predictions=[1], probabilities=[0.75]),
        replace(
            base,
            predictions=["class_2"],
            probabilities=[0.5],
            class_probabilities=[{"class_0": 0.25, "class_1": 0.25, "class_2": 0.5}],
        ),
        replace(base, predictions=[151.25], probabilities=None),
    ]


@pytest.mark.parametrize(
    "requests", [[0, 0], [1, 1], [2, 2], [0, 1, 2]], ids=["binary", "multiclass", "regression", "mixed"]
)
def test_predictions_of_every_task_read_back_with_their_types(tmp_path: Path, requests: list[int]) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    log = PredictionLog(PredictionLogSettings(url=url))
    expected = [task_requests()[i] for i in requests]
    for request in expected:
        log.append(request)
    log.close()
    frame = read_prediction_log(url)
    assert frame["prediction"].tolist() == [e.predictions[0] for e in expected]
    assert [type(v) for v in frame["prediction"]] == [type(e.predictions[0]) for e in expected]
    assert frame["probability"].dtype == "float64"
    assert [None if p != p else p for p in frame["probability"]] == [
        e.probabilities and e.probabilities[0] for e in expected
    ]
    assert frame["probabilities"].tolist() == [e.class_probabilities and e.class_probabilities[0] for e in expected]
    if requests == [2, 2]:
        assert frame["prediction"].dtype == "float64"
    if requests == [0, 0]:
        assert frame["prediction"].dtype == "int64"  # as the integer column read before


def old_layout_log(url: str) -> None:
    """A log written before tasks: an integer prediction, no probabilities column."""
    columns = (
        "id INTEGER PRIMARY KEY, request_id VARCHAR(32) NOT NULL, row_index INTEGER NOT NULL, "
        "logged_at DATETIME NOT NULL, model_version VARCHAR(64) NOT NULL, "
        "endpoint VARCHAR(32) NOT NULL, input TEXT NOT NULL, prediction INTEGER NOT NULL, "
        "probability FLOAT NOT NULL, unknown_categories TEXT NOT NULL, latency_ms FLOAT NOT NULL"
    )
    values = "1, 'abc', 0, '2024-05-01 10:00:00.000000', 'v0', '/predict', '{\"origin\": \"JFK\"}', 1, 0.8, '[]', 2.5"
    with create_engine(url).begin() as connection:
        connection.execute(text(f"CREATE TABLE predictions ({columns})"))
        connection.execute(text(f"INSERT INTO predictions VALUES ({values})"))


def test_a_log_of_the_older_layout_is_read_but_not_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old_layout_log(url)
    frame = read_prediction_log(url)
    assert frame[["prediction", "probability", "origin"]].values.tolist() == [[1, 0.8, "JFK"]]
    assert frame["probabilities"].tolist() == [None] and frame["prediction"].dtype == "int64"
    with pytest.raises(LifecycleError, match=r"table 'predictions' .* older layout .*serve.log.table"):
        PredictionLog(PredictionLogSettings(url=url))
    log = PredictionLog(PredictionLogSettings(url=url, table="predictions_v2"))  # a new table works
    for request in task_requests():
        log.append(request)
    log.close()
    assert read_prediction_log(url, "predictions_v2")["prediction"].tolist() == [
        1,
        "class_2",
        151.25,
    ]


def test_predictions_of_every_task_read_back_with_their_types_postgresql() -> None:
    url = postgres_url()
    table = f"predictions_test_{uuid.uuid4().hex[:8]}"
    log = PredictionLog(PredictionLogSettings(url=url, table=table))
    try:
        for request in task_requests():
            log.append(request)
        log.close()
        frame = read_prediction_log(url, table)
        assert frame["prediction"].tolist() == [1, "class_2", 151.25]
        assert frame["probabilities"].tolist() == [None, {"class_0": 0.25, "class_1": 0.25, "class_2": 0.5}, None]
        assert frame["probability"].iloc[:2].tolist() == [0.75, 0.5]
        assert np.isnan(frame["probability"].iloc[2])
    finally:
        drop_table(url, table)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_writers_insert_stores_what_sqlalchemys_insert_stores(tmp_path: Path, database: str) -> None:
    """The writer hands records to the driver itself (BulkInsert): every value of both tables is
    stored exactly as SQLAlchemy's own insert stores it (time stamps shared by records or not,
    floats, nulls, texts)."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}" if database == "sqlite" else postgres_url()
    suffix = uuid.uuid4().hex[:8]
    shared, other = datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC), datetime(2026, 5, 1, 10, 0, 1, tzinfo=UTC)
    predictions = [
        {
            "request_id": f"{i // 2:032x}",
            "logged_at": shared if i < 3 else other,
            "model_version": "v1",
            "endpoint": "/predict",
            "row_count": 1 + i % 3,
            "inputs": "\n".join(json.dumps({"origin": "JFK", "distance": 100.0 + i / 3 + r}) for r in range(1 + i % 3)),
            "predictions": json.dumps([[1, "class_2", 151.25][i % 3]] * (1 + i % 3)),
            "probabilities": [json.dumps([0.1 + i / 7]), json.dumps([0.5, 0.25]), None][i % 3],
            "class_probabilities": json.dumps([{"a": 0.25, "b": 0.75}] * 2) if i % 3 == 1 else None,
            "unknown_categories": json.dumps([["dest"] if i % 2 else []] * (1 + i % 3)),
            "latency_ms": [1.0 / (i + 3), np.float64(0.5)][i % 2],
        }
        for i in range(6)
    ]
    rejected = [
        {"request_id": "a" * 32, "logged_at": other, "model_version": "v1", "endpoint": "/predict"}
        | {"status": 422, "reason": "invalid input"}
    ]
    engine = log_engine(url)
    tables = [(log_table, predictions), (rejected_table, rejected)]
    try:
        for make, rows in tables:
            ours, theirs = (make(f"{name}_{make.__name__}_{suffix}") for name in ("ours", "theirs"))
            for table in (ours, theirs):
                table.metadata.create_all(engine)
            with engine.begin() as connection:
                BulkInsert.of(ours, engine.dialect).run(connection, rows)
                connection.execute(theirs.insert(), rows)
            with engine.connect() as connection:
                stored = [
                    connection.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY id").all()
                    for table in (ours, theirs)
                ]
            assert len(stored[0]) == len(rows) and stored[0] == stored[1]
    finally:
        engine.dispose()
        if database == "postgresql":
            for make, _ in tables:
                for name in ("ours", "theirs"):
                    drop_table(url, f"{name}_{make.__name__}_{suffix}")


def test_a_request_that_cannot_be_encoded_is_lost_not_the_writer(tmp_path: Path) -> None:
    """A text JSON cannot hold (a lone surrogate, which the request model refuses) in one
    request: that request is not logged, and the writer goes on writing the others."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    log = PredictionLog(PredictionLogSettings(url=url, flush_seconds=30))
    log.append(logged(1, 2))
    log.append(replace(logged(2, 1), inputs=[{"origin": "JFK\ud800"}]))
    log.flush()
    log.append(logged(3, 1))
    log.close()
    assert read_prediction_log(url)["request_id"].tolist() == [f"{1:032x}"] * 2 + [f"{3:032x}"]
