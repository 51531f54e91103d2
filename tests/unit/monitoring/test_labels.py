"""Late labels in a real database (SQLite, and PostgreSQL where a server listens): stored once,
repeats change nothing, contradictions store nothing and name the row, unmatched counted."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lifecycle.config import PredictionLogSettings
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.labels import Label, LabelConflict, LabelStore, check_labels, read_labels
from lifecycle.serving.prediction_log import LoggedRequest, PredictionLog
from lifecycle.tasks.registry import task_named
from tests.support.http import free_port
from tests.support.postgres import drop_table, postgres_url

RECEIVED = datetime(2013, 11, 2, 12, tzinfo=UTC)


def log_rows(url: str, table: str, requests: list[str], rows: int) -> None:
    """Log `rows` predictions for each request id, through the real writer."""
    log = PredictionLog(PredictionLogSettings(url=url, table=table, flush_seconds=0.01))
    for request_id in requests:
        log.append(
            LoggedRequest(
                request_id=request_id,
                logged_at=RECEIVED,
                model_version="v1",
                endpoint="/predict",
                latency_ms=1.0,
                inputs=[{"origin": "JFK"}] * rows,
                predictions=[True] * rows,
                unknown_categories=[[]] * rows,
                probabilities=[0.7] * rows,
            )
        )
    log.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(url, predictions table, labels table) with two logged requests of three rows each."""
    suffix = uuid.uuid4().hex[:8]
    url = f"sqlite:///{tmp_path / 'log.sqlite'}" if request.param == "sqlite" else postgres_url()
    tables = (f"predictions_{suffix}", f"labels_{suffix}")
    log_rows(url, tables[0], ["a" * 32, "b" * 32], rows=3)
    yield url, *tables
    if request.param == "postgresql":
        for table in tables:
            drop_table(url, table)


def test_labels_are_stored_once_and_unmatched_ones_counted(database: tuple[str, str, str]) -> None:
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions)
    first = store.add([Label("a" * 32, 0, True), Label("a" * 32, 1, False), Label("c" * 32, 0, True)], RECEIVED)
    again = store.add([Label("a" * 32, 0, True), Label("b" * 32, 2, False)], RECEIVED)
    store.close()
    assert first.as_json() == {"stored": 3, "unchanged": 0, "unmatched": 1}
    assert again.as_json() == {"stored": 1, "unchanged": 1, "unmatched": 0}
    stored = read_labels(url, labels)
    assert list(zip(stored["request_id"], stored["row_index"], stored["actual"])) == [
        ("a" * 32, 0, True),
        ("a" * 32, 1, False),
        ("c" * 32, 0, True),
        ("b" * 32, 2, False),
    ]
    assert [type(v) for v in stored["actual"]] == [bool] * 4
    assert (stored["received_at"] == RECEIVED).all()


def test_a_different_label_for_a_labelled_row_stores_nothing_and_names_the_row(
    database: tuple[str, str, str],
) -> None:
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions)
    store.add([Label("a" * 32, 0, True)], RECEIVED)
    with pytest.raises(LabelConflict, match=f"request {'a' * 32} row 0 is labelled true, got false") as raised:
        store.add([Label("b" * 32, 0, True), Label("a" * 32, 0, False)], RECEIVED)
    assert raised.value.positions == [1]
    with pytest.raises(LabelConflict) as within:  # two labels of one batch that disagree
        store.add([Label("b" * 32, 1, True), Label("b" * 32, 1, False)], RECEIVED)
    assert within.value.positions == [1]
    store.close()
    assert read_labels(url, labels)["request_id"].tolist() == ["a" * 32]


def test_concurrent_senders_of_the_same_labels_store_each_once(database: tuple[str, str, str]) -> None:
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions)
    batch = [Label(request, row, row % 2 == 0) for request in ("a" * 32, "b" * 32) for row in range(3)]
    receipts: list[Any] = []
    threads = [threading.Thread(target=lambda: receipts.append(store.add(batch, RECEIVED))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert len(receipts) == 6 and sum(r.stored for r in receipts) == 6
    assert all(r.stored + r.unchanged == 6 and r.unmatched == 0 for r in receipts)
    assert len(read_labels(url, labels)) == 6


def test_reading_labels_before_any_were_sent_gives_none(tmp_path: Path) -> None:
    assert read_labels(f"sqlite:///{tmp_path / 'log.sqlite'}").empty


def test_an_unreachable_database_is_one_message() -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port('127.0.0.1')}/test"  # nothing listens there
    with pytest.raises(LifecycleError, match="cannot open the labels table 'labels'"):
        LabelStore(url, "labels", "predictions")


@pytest.mark.parametrize(
    ("task", "classes", "actual", "problem"),
    [
        ("binary", [False, True], True, None),
        ("binary", [False, True], 1, "expected one of the classes [false, true], got 1"),
        ("binary", [0, 1], True, "expected one of the classes [0, 1], got true"),
        ("binary", [0, 1], 1.0, None),
        ("multiclass", ["barolo", "grignolino"], "barolo", None),
        ("multiclass", ["barolo", "grignolino"], "chianti", 'expected one of the classes ["barolo", "grignolino"]'),
        ("regression", [], 151.5, None),
        ("regression", [], float("nan"), "expected a finite number, got NaN"),
        ("regression", [], "151", 'expected a finite number, got "151"'),
        ("regression", [], False, "expected a finite number, got false"),
    ],
)
def test_a_label_must_be_one_the_bundles_task_can_have(
    task: str, classes: list[Any], actual: Any, problem: str | None
) -> None:
    found = check_labels([Label("a" * 32, 0, actual)], task_named(task), classes)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0][0] == 0 and found[0][1].startswith(problem)
