"""Labels by an entity key in a real database (SQLite, and PostgreSQL where a server listens),
on real flights logged through the real writer: stored once per key whatever the number
form, contradictions store nothing of the batch and name the key, keys no logged prediction
has counted, every prediction of a key joined, and a labels table of the earlier layout
read and written beside the keyed one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from lifecycle.config import PredictionLogSettings
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.keyed_labels import (
    KeyedLabel,
    canonical,
    key_kinds,
    key_text,
    keyed_table_name,
    read_keyed_labels,
)
from lifecycle.monitoring.labels import Label, LabelConflict, LabelStore, labels_table, read_labels
from lifecycle.monitoring.performance import join_labels
from lifecycle.serving.prediction_log import LoggedRequest, PredictionLog, read_prediction_log
from tests.support.postgres import drop_table, postgres_url

RECEIVED = datetime(2013, 11, 2, 12, tzinfo=UTC)
KINDS = {
    "year": "numeric",
    "month": "numeric",
    "day": "numeric",
    "carrier": "categorical",
    "origin": "categorical",
    "dest": "categorical",
    "sched_dep_time": "numeric",
    "sched_arr_time": "numeric",
}
INPUTS = [*KINDS, "distance", "time_hour"]
KINDS_OF_INPUTS = {**KINDS, "distance": "numeric", "time_hour": "datetime"}


@pytest.fixture(scope="module")
def flights(raw_tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Four real flights with distinct keys, as a client sends their inputs."""
    sample = raw_tables["flights"].drop_duplicates(list(KINDS)).head(4)[INPUTS]
    return json.loads(sample.to_json(orient="records", date_format="iso"))


def log_flights(url: str, table: str, flights: list[dict[str, Any]]) -> None:
    """Flight 0 scored twice (two requests), the others once, through the real writer."""
    requests = [("a" * 32, flights[:1]), ("b" * 32, flights)]
    log = PredictionLog(PredictionLogSettings(url=url, table=table, flush_seconds=0.01))
    for request_id, inputs in requests:
        log.append(
            LoggedRequest(
                request_id=request_id,
                logged_at=RECEIVED,
                model_version="v1",
                endpoint="/predict",
                latency_ms=1.0,
                inputs=inputs,
                predictions=[True] * len(inputs),
                unknown_categories=[[]] * len(inputs),
                probabilities=[0.7] * len(inputs),
            )
        )
    log.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, flights: list[dict[str, Any]]
) -> Iterator[tuple[str, str, str]]:
    """(url, predictions table, labels table) with five logged predictions of four flights."""
    suffix = uuid.uuid4().hex[:8]
    url = f"sqlite:///{tmp_path / 'log.sqlite'}" if request.param == "sqlite" else postgres_url()
    predictions, labels = f"predictions_{suffix}", f"labels_{suffix}"
    log_flights(url, predictions, flights)
    yield url, predictions, labels
    if request.param == "postgresql":
        for table in (predictions, labels, keyed_table_name(labels)):
            drop_table(url, table)


def keyed(flight: dict[str, Any], actual: Any, **changes: Any) -> KeyedLabel:
    return KeyedLabel(key_text({**flight, **changes}, KINDS), actual)


def test_keyed_labels_are_stored_once_per_key_and_unmatched_keys_counted(
    database: tuple[str, str, str], flights: list[dict[str, Any]]
) -> None:
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions, KINDS)
    first = store.add(
        [keyed(flights[0], True), keyed(flights[1], False), keyed(flights[1], True, carrier="ZZ")], RECEIVED
    )
    # the same keys again, a number sent as a float, and a label by request id beside them
    again = store.add([keyed(flights[0], True, year=float(flights[0]["year"])), Label("b" * 32, 2, True)], RECEIVED)
    store.close()
    assert first.as_json() == {"stored": 3, "unchanged": 0, "unmatched": 1}
    assert again.as_json() == {"stored": 1, "unchanged": 1, "unmatched": 0}
    stored = read_keyed_labels(url, keyed_table_name(labels))
    assert [json.loads(key)["carrier"] for key in stored["key"]] == [flights[0]["carrier"], flights[1]["carrier"], "ZZ"]
    assert stored["actual"].tolist() == [True, False, True]
    assert read_labels(url, labels)["row_index"].tolist() == [2]


def test_a_different_label_for_a_labelled_key_stores_nothing_and_names_the_key(
    database: tuple[str, str, str], flights: list[dict[str, Any]]
) -> None:
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions, KINDS)
    store.add([keyed(flights[0], True)], RECEIVED)
    batch = [Label("b" * 32, 1, True), keyed(flights[2], True), keyed(flights[0], False)]
    with pytest.raises(
        LabelConflict, match=f'key {{"carrier": "{flights[0]["carrier"]}".* is labelled true, got false'
    ):
        store.add(batch, RECEIVED)
    with pytest.raises(LabelConflict) as within:  # two labels of one batch that disagree
        store.add([keyed(flights[3], True), keyed(flights[3], False)], RECEIVED)
    store.close()
    assert within.value.positions == [1]
    assert len(read_keyed_labels(url, keyed_table_name(labels))) == 1
    assert read_labels(url, labels).empty  # the label by request id of the refused batch neither


def test_a_keyed_label_joins_every_prediction_of_its_key_and_a_label_by_id_wins(
    database: tuple[str, str, str], flights: list[dict[str, Any]]
) -> None:
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions, KINDS)
    store.add([keyed(flights[0], True), keyed(flights[1], False), Label("b" * 32, 1, True)], RECEIVED)
    store.close()
    log = read_prediction_log(url, predictions)
    joined = join_labels(
        log, read_labels(url, labels), read_keyed_labels(url, keyed_table_name(labels)), KINDS_OF_INPUTS
    )
    by_row = {(r.request_id, r.row_index): r.actual for r in joined.itertuples()}
    assert by_row == {("a" * 32, 0): True, ("b" * 32, 0): True, ("b" * 32, 1): True}  # flight 1: by id


def test_a_labels_table_of_the_earlier_layout_is_read_and_written_beside_keyed_labels(
    database: tuple[str, str, str], flights: list[dict[str, Any]]
) -> None:
    """A database as the version before keys left it: the labels table (its layout unchanged)
    with a label in it and no keyed table. Its labels are read and joined, new labels by
    request id go into it, keyed ones into the table created beside it."""
    url, predictions, labels = database
    engine = create_engine(url)
    labels_table(labels).metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO {labels} (request_id, row_index, actual, received_at) VALUES (:r, 0, 'false', :t)"),
            {"r": "a" * 32, "t": RECEIVED},
        )
    engine.dispose()
    assert read_labels(url, labels)["actual"].tolist() == [False]
    assert read_keyed_labels(url, keyed_table_name(labels)).empty  # no keyed table yet: none
    store = LabelStore(url, labels, predictions, KINDS)
    receipt = store.add([Label("b" * 32, 3, True), keyed(flights[0], True)], RECEIVED)
    store.close()
    assert receipt.as_json() == {"stored": 2, "unchanged": 0, "unmatched": 0}
    assert read_labels(url, labels)["row_index"].tolist() == [0, 3]
    log = read_prediction_log(url, predictions)
    joined = join_labels(
        log, read_labels(url, labels), read_keyed_labels(url, keyed_table_name(labels)), KINDS_OF_INPUTS
    )
    assert {(r.request_id, r.row_index): r.actual for r in joined.itertuples()} == {
        ("a" * 32, 0): False,  # the earlier label by request id wins over the keyed one
        ("b" * 32, 0): True,
        ("b" * 32, 3): True,
    }


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("numeric", [2013, 2013.0], 2013),
        ("numeric", [14.5], 14.5),
        (
            "datetime",
            ["2013-11-07T20:00:00Z", "2013-11-07T15:00:00-05:00", "2013-11-07 20:00:00"],
            "2013-11-07T20:00:00+00:00",
        ),
        ("categorical", ["UA"], "UA"),
        ("boolean", [True], True),
        ("numeric", [None, float("nan")], None),
    ],
)
def test_a_key_value_has_one_form_whatever_form_it_was_sent_in(kind: str, values: list[Any], expected: Any) -> None:
    assert {json.dumps(canonical(kind, value)) for value in values} == {json.dumps(expected)}


def test_a_key_column_the_bundle_does_not_take_is_refused_naming_it() -> None:
    schema = {"columns": [{"name": name, "kind": kind} for name, kind in KINDS.items()]}
    assert key_kinds(schema, ["carrier", "day"]) == {"carrier": "categorical", "day": "numeric"}
    with pytest.raises(LifecycleError, match=r"serve.log.labels_key names \['flight'\], not input column\(s\)"):
        key_kinds(schema, ["carrier", "flight"])


def test_a_key_logged_after_the_first_keyed_labels_is_matched_by_later_ones(
    database: tuple[str, str, str], flights: list[dict[str, Any]]
) -> None:
    """The store reads the log once, then only what was logged since: a flight scored after
    the first labels by key were sent is still found."""
    url, predictions, labels = database
    store = LabelStore(url, labels, predictions, KINDS)
    later = {**flights[0], "dest": "SFO"}  # a flight the log does not hold yet
    before = store.add([keyed(flights[0], True), keyed(later, False)], RECEIVED)
    log_flights(url, predictions, [later, *flights[1:]])
    after = store.add([keyed(later, False)], RECEIVED)
    store.close()
    assert before.as_json() == {"stored": 2, "unchanged": 0, "unmatched": 1}
    assert after.as_json() == {"stored": 0, "unchanged": 1, "unmatched": 0}
