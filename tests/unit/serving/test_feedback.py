"""POST /feedback and `python -m lifecycle labels`: late labels, by request id or by the
declared key, checked against the bundle, stored once beside the prediction log, conflicts
answered 409 naming the row or key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lifecycle.__main__ import main
from lifecycle.config import PredictionLogSettings, ServeSettings, load_params
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.keyed_labels import read_keyed_labels
from lifecycle.monitoring.labels import read_labels
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.app import create_app
from lifecycle.serving.prediction_log import read_prediction_log
from tests.support.project import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture()
def client(bundle_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    log = PredictionLogSettings(url=f"sqlite:///{tmp_path / 'log.sqlite'}", flush_seconds=0.05)
    with TestClient(create_app(bundle_dir, ServeSettings(max_rows=50, log=log))) as test_client:
        yield test_client


@pytest.fixture()
def classes(bundle_dir: Path) -> list[Any]:
    return load_bundle(bundle_dir).classes


def predicted(client: TestClient, rows: list[dict]) -> str:
    response = client.post("/predict", json=rows)
    assert response.status_code == 200, response.text
    return response.json()["request_id"]


def test_labels_are_stored_once_beside_the_log(
    client: TestClient, known_rows: list[dict], classes: list[Any], tmp_path: Path
) -> None:
    request_id = predicted(client, known_rows[:3])
    negative, positive = classes
    one = client.post("/feedback", json={"request_id": request_id, "row_index": 0, "actual": positive})
    many = client.post(
        "/feedback",
        json=[
            {"request_id": request_id, "row_index": 0, "actual": positive},  # again: no change
            {"request_id": request_id, "row_index": 2, "actual": negative},
            {"request_id": "f" * 32, "row_index": 0, "actual": negative},  # no such prediction
        ],
    )
    assert one.status_code == many.status_code == 200
    assert one.json() == {"stored": 1, "unchanged": 0, "unmatched": 0}
    assert many.json() == {"stored": 2, "unchanged": 1, "unmatched": 1}
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    labels = read_labels(url)
    assert list(zip(labels["request_id"], labels["row_index"], labels["actual"])) == [
        (request_id, 0, positive),
        (request_id, 2, negative),
        ("f" * 32, 0, negative),
    ]
    joined = read_prediction_log(url).merge(labels, on=["request_id", "row_index"])
    assert joined["row_index"].tolist() == [0, 2]


def test_a_different_label_for_a_labelled_row_is_a_conflict_naming_it(
    client: TestClient, known_rows: list[dict], classes: list[Any], tmp_path: Path
) -> None:
    request_id = predicted(client, known_rows[:2])
    negative, positive = classes
    assert client.post("/feedback", json={"request_id": request_id, "row_index": 1, "actual": positive}).is_success
    response = client.post(
        "/feedback",
        json=[
            {"request_id": request_id, "row_index": 0, "actual": positive},
            {"request_id": request_id, "row_index": 1, "actual": negative},
        ],
    )
    assert response.status_code == 409
    body = response.json()
    assert f"request {request_id} row 1 is labelled" in body["error"]
    assert [(p["row"], p["field"], p["type"]) for p in body["problems"]] == [(1, "actual", "label_conflict")]
    assert read_labels(f"sqlite:///{tmp_path / 'log.sqlite'}")["row_index"].tolist() == [1]  # row 0 not stored


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"request_id": "a" * 32, "row_index": 0, "actual": "late"}, 422, [(0, "actual")]),
        ([{"request_id": "a" * 32, "row_index": 0, "actual": 0.5}], 422, [(0, "actual")]),
        ([{"request_id": "a" * 32, "row_index": -1, "actual": True}], 422, [(0, "row_index")]),
        ([{"request_id": "a" * 32, "actual": True}], 422, [(0, "row_index")]),
        ({"request_id": "a" * 33, "row_index": 0, "actual": True}, 422, [(0, "request_id")]),
        ([], 422, [(None, None)]),
    ],
)
def test_a_label_the_model_cannot_have_is_refused_naming_row_and_field(
    client: TestClient, body: Any, status: int, where: list[tuple[int | None, str | None]], tmp_path: Path
) -> None:
    response = client.post("/feedback", json=body)
    assert response.status_code == status, response.text
    assert sorted({(p["row"], p["field"]) for p in response.json()["problems"]}, key=str) == where
    assert read_labels(f"sqlite:///{tmp_path / 'log.sqlite'}").empty


def test_malformed_or_oversized_feedback(client: TestClient) -> None:
    bad_json = client.post("/feedback", content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and "malformed JSON" in bad_json.json()["error"]
    text = client.post("/feedback", content=b"a,b", headers={"content-type": "text/csv"})
    assert text.status_code == 415
    labels = [{"request_id": "a" * 32, "row_index": i, "actual": True} for i in range(51)]
    assert client.post("/feedback", json=labels).status_code == 413


def test_labels_command_loads_a_file_and_refuses_wrong_ones(
    client: TestClient, known_rows: list[dict], classes: list[Any], bundle_dir: Path, tmp_path: Path
) -> None:
    request_id = predicted(client, known_rows[:4])
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    good = tmp_path / "labels.csv"
    labels = pd.DataFrame({"request_id": [request_id] * 4, "row_index": range(4), "actual": classes * 2})
    labels.to_csv(good, index=False)
    command = ["labels", "--bundle", str(bundle_dir), "--log-url", url, "--source"]
    assert main([*command, str(good)]) == 0
    assert main([*command, str(good)]) == 0  # again: nothing changes
    assert read_labels(url)["actual"].tolist() == classes * 2
    wrong = tmp_path / "wrong.parquet"
    pd.DataFrame({"request_id": ["b" * 32], "row_index": [0], "actual": ["maybe"]}).to_parquet(wrong)
    assert main([*command, str(wrong)]) == 1
    flipped = tmp_path / "flipped.csv"
    pd.DataFrame({"request_id": [request_id], "row_index": [0], "actual": [classes[1]]}).to_csv(flipped, index=False)
    assert main([*command, str(flipped)]) == 1
    assert len(read_labels(url)) == 4


# --- labels by key (serve.log.labels_key) ------------------------------------------------

KEY = load_params(ROOT / "params.yaml").serve.log.labels_key


@pytest.fixture()
def keyed_client(bundle_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The service with params.yaml's flights key declared."""
    log = PredictionLogSettings(url=f"sqlite:///{tmp_path / 'log.sqlite'}", flush_seconds=0.05, labels_key=KEY)
    with TestClient(create_app(bundle_dir, ServeSettings(max_rows=50, log=log))) as test_client:
        yield test_client


def by_key(row: dict[str, Any], actual: Any, **changes: Any) -> dict[str, Any]:
    return {**{name: row[name] for name in KEY}, **changes, "actual": actual}


def test_labels_by_key_are_stored_once_and_the_monitor_joins_every_prediction_of_the_key(
    keyed_client: TestClient, known_rows: list[dict], classes: list[Any], bundle_dir: Path, tmp_path: Path
) -> None:
    rows = known_rows[:3]
    first = predicted(keyed_client, rows)
    predicted(keyed_client, rows[:1])  # the first flight scored again
    negative, positive = classes
    sent = keyed_client.post("/feedback", json=[by_key(rows[0], positive), by_key(rows[1], negative)])
    mixed = keyed_client.post(
        "/feedback",
        json=[
            by_key(rows[0], positive, year=float(rows[0]["year"])),  # again, the year as 2013.0: no change
            {"request_id": first, "row_index": 2, "actual": negative},
            by_key(rows[2], positive, carrier="ZZ"),  # no flight of that carrier was scored
        ],
    )
    assert sent.json() == {"stored": 2, "unchanged": 0, "unmatched": 0}
    assert mixed.json() == {"stored": 2, "unchanged": 1, "unmatched": 1}
    conflict = keyed_client.post("/feedback", json=[by_key(rows[2], negative), by_key(rows[0], negative)])
    assert conflict.status_code == 409
    problems = conflict.json()["problems"]
    assert [(p["row"], p["field"], p["type"]) for p in problems] == [(1, "actual", "label_conflict")]
    assert (
        f'"carrier": "{rows[0]["carrier"]}"' in problems[0]["message"] and "already labelled" in problems[0]["message"]
    )
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    assert len(read_keyed_labels(url, "labels_by_key")) == 3  # nothing of the refused body
    today = datetime.now(UTC).date()
    output = tmp_path / "monitor.json"
    window = ["--since", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=1))]
    report = ["--output", str(output), "--report-dir", str(tmp_path / "report")]
    assert main(["monitor", "--bundle", str(bundle_dir), "--log-url", url, *window, *report]) in (0, 1)
    performance = json.loads(output.read_text())["performance"]
    assert (performance["predictions"], performance["labelled"]) == (4, 4)  # rows 0 (twice) and 1 by key, 2 by id


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda label: {k: v for k, v in label.items() if k != "carrier"}, [(1, "carrier")]),
        (lambda label: {**label, "month": str(label["month"])}, [(1, "month")]),
        (lambda label: {**label, "day": 1.5}, [(1, "day")]),
        (lambda label: {**label, "origin": None}, [(1, "origin")]),
        (lambda label: {**label, "colour": "red"}, [(1, "colour")]),
        (lambda label: {**label, "actual": "late"}, [(1, "actual")]),
    ],
    ids=["key column missing", "text for a number", "fraction of a whole number", "null", "unknown field", "label"],
)
def test_a_label_by_key_the_schema_refuses_is_answered_422_naming_item_and_field(
    keyed_client: TestClient, known_rows: list[dict], classes: list[Any], change: Any, where: list, tmp_path: Path
) -> None:
    good = by_key(known_rows[0], classes[0])
    response = keyed_client.post("/feedback", json=[good, change(by_key(known_rows[1], classes[1]))])
    assert response.status_code == 422, response.text
    assert [(p["row"], p["field"]) for p in response.json()["problems"]] == where
    assert read_keyed_labels(f"sqlite:///{tmp_path / 'log.sqlite'}", "labels_by_key").empty


def test_without_a_declared_key_labels_go_by_request_id_only(client: TestClient, known_rows: list[dict]) -> None:
    response = client.post("/feedback", json=by_key(known_rows[0], 1))
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["problems"]} >= {"request_id", "row_index"}


def test_a_declared_key_that_is_not_an_input_column_stops_the_service(bundle_dir: Path, tmp_path: Path) -> None:
    log = PredictionLogSettings(url=f"sqlite:///{tmp_path / 'log.sqlite'}", labels_key=["carrier", "flight"])
    with pytest.raises(LifecycleError, match=r"labels_key names \['flight'\], not input column\(s\) of the bundle"):
        create_app(bundle_dir, ServeSettings(log=log))
