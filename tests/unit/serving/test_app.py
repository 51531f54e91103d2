"""The HTTP service in-process (FastAPI's TestClient): endpoints, strict input, errors, metrics."""

from __future__ import annotations

import gc
import json
import shutil
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lifecycle.config import PredictionLogSettings, ServeSettings
from lifecycle.errors import LifecycleError
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.app import create_app
from lifecycle.serving.prediction_log import read_prediction_log
from lifecycle.serving.reload import ADMIN_TOKEN

pytestmark = pytest.mark.e2e

MAX_ROWS = 50


def settings(tmp_path: Path, **changes: Any) -> ServeSettings:
    log = PredictionLogSettings(url=f"sqlite:///{tmp_path / 'log.sqlite'}", flush_seconds=0.05)
    return ServeSettings(max_rows=MAX_ROWS, max_body_bytes=200_000, log=log).model_copy(update=changes)


@pytest.fixture()
def client(bundle_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(bundle_dir, settings(tmp_path, unknown_category="reject"))) as test_client:
        yield test_client


def problems(response: Any) -> list[tuple[int | None, str | None, str]]:
    body = response.json()
    assert set(body) == {"error", "problems"}
    return [(p["row"], p["field"], p["message"]) for p in body["problems"]]


def test_predict_one_row_and_a_list_equal_the_bundle(
    client: TestClient, bundle_dir: Path, known_rows: list[dict]
) -> None:
    rows = known_rows[:20]
    expected = load_bundle(bundle_dir).predict(pd.DataFrame(rows))
    one = client.post("/predict", json=rows[0])
    many = client.post("/predict", json=rows)
    assert one.status_code == many.status_code == 200
    body = many.json()
    assert body["model_version"] == load_bundle(bundle_dir).metadata.model_version
    assert len(body["request_id"]) == 32 and many.headers["x-request-id"] == body["request_id"]
    assert one.json()["predictions"] == body["predictions"][:1]
    np.testing.assert_array_equal([p["probability"] for p in body["predictions"]], expected["probability"])
    assert [p["label"] for p in body["predictions"]] == expected["prediction"].tolist()
    assert all(p["unknown_categories"] == [] for p in body["predictions"])


def test_every_prediction_is_logged(bundle_dir: Path, tmp_path: Path, known_rows: list[dict]) -> None:
    with TestClient(create_app(bundle_dir, settings(tmp_path))) as test_client:
        ids = [test_client.post("/predict", json=known_rows[: n + 1]).json()["request_id"] for n in range(5)]
    log = read_prediction_log(f"sqlite:///{tmp_path / 'log.sqlite'}")
    assert len(log) == 1 + 2 + 3 + 4 + 5
    assert log.groupby("request_id").size().to_dict() == {rid: n + 1 for n, rid in enumerate(ids)}
    first = log[log["request_id"] == ids[-1]].sort_values("row_index")
    assert first["dest"].tolist() == [r["dest"] for r in known_rows[:5]]
    assert (first["latency_ms"] > 0).all() and first["probability"].between(0, 1).all()


BAD_VALUES = [
    ("temp", "hot", "Input should be a valid number"),
    ("temp", True, "Input should be a valid number"),
    ("distance", None, "Input should be a valid number"),
    ("carrier", 7, "Input should be"),
    ("time_hour", 1357000000, "expected an ISO 8601 date-time string"),
    ("time_hour", "yesterday", "Input should be a valid datetime"),
    ("time_hour", "0001-01-01T00:00:00Z", "expected a date-time between"),
    ("distance", 1e300, "less than or equal to"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_wrong_type_names_the_field(
    client: TestClient, known_rows: list[dict], field: str, value: Any, message: str
) -> None:
    response = client.post("/predict", json=[known_rows[0], {**known_rows[1], field: value}])
    assert response.status_code == 422
    [(row, named, text)] = problems(response)
    assert (row, named) == (1, field) and message in text


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(client: TestClient, known_rows: list[dict], literal: bytes) -> None:
    body = json.dumps({**known_rows[0], "temp": "__X__"}).encode().replace(b'"__X__"', literal)
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert problems(response) == [(None, "temp", "Input should be a finite number")]


def test_missing_and_unknown_fields_are_named(client: TestClient, known_rows: list[dict]) -> None:
    row = {k: v for k, v in known_rows[0].items() if k != "origin"} | {"tail_number": "N123", "colour": "red"}
    response = client.post("/predict", json=row)
    assert response.status_code == 422
    found = {(field, message.split(":")[0]) for _, field, message in problems(response)}
    assert found == {
        ("origin", "required field is missing"),
        ("tail_number", "unknown field"),
        ("colour", "unknown field"),
    }


def test_nullable_fields_may_be_null_or_omitted(client: TestClient, known_rows: list[dict]) -> None:
    row = {k: v for k, v in known_rows[0].items() if k != "wind_gust"} | {"temp": None}
    assert client.post("/predict", json=row).status_code == 200


def test_unknown_category_reject_policy(client: TestClient, known_rows: list[dict]) -> None:
    response = client.post("/predict", json={**known_rows[0], "dest": "XYZ"})
    assert response.status_code == 422
    [(_, field, message)] = problems(response)
    assert field == "dest" and "'JFK'" not in message and "'LAX'" in message


def test_unknown_category_accept_policy_flags_the_row(bundle_dir: Path, tmp_path: Path, known_rows: list[dict]) -> None:
    with TestClient(create_app(bundle_dir, settings(tmp_path, unknown_category="accept"))) as test_client:
        response = test_client.post("/predict", json=[known_rows[0], {**known_rows[0], "dest": "XYZ", "carrier": "ZZ"}])
    assert response.status_code == 200
    first, second = response.json()["predictions"]
    assert first["unknown_categories"] == [] and second["unknown_categories"] == ["carrier", "dest"]


def test_flags_of_a_batch_name_each_rows_unseen_values(
    bundle_dir: Path, tmp_path: Path, known_rows: list[dict]
) -> None:
    """A batch's flags, found column by column, are each row's own: its categories never seen
    and its numbers beyond the training range, in schema order, computed here row by row."""
    schema = load_bundle(bundle_dir).schema
    changes: list[dict[str, Any]] = [
        {},
        {"dest": "XYZ", "carrier": "ZZ"},
        {"month": 11, "temp": 105.5},
        {"engine": "Steam", "distance": 5000, "temp": None},
        {"month": 12, "day": 31, "type": "Balloon", "wind_gust": 80.25},
    ]
    rows = [{**row, **changes[i % len(changes)]} for i, row in enumerate(known_rows[:MAX_ROWS])]
    with TestClient(create_app(bundle_dir, settings(tmp_path, unknown_category="accept"))) as test_client:
        response = test_client.post("/predict", json=rows)
    assert response.status_code == 200, response.text
    expected = [
        {
            "unknown_categories": [
                c["name"]
                for c in schema["columns"]
                if c["kind"] == "categorical" and row[c["name"]] is not None and row[c["name"]] not in c["categories"]
            ],
            "beyond_training_range": [
                c["name"]
                for c in schema["columns"]
                if c["kind"] == "numeric" and row[c["name"]] is not None and not c["min"] <= row[c["name"]] <= c["max"]
            ],
        }
        for row in rows
    ]
    flags = [{k: p[k] for k in ("unknown_categories", "beyond_training_range")} for p in response.json()["predictions"]]
    assert flags == expected
    assert flags[1]["unknown_categories"] == ["carrier", "dest"] and flags[4]["unknown_categories"] == ["type"]
    assert (
        flags[2]["beyond_training_range"][:2] == ["month", "temp"] and "wind_gust" in flags[4]["beyond_training_range"]
    )


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"temp": 1', "application/json", 400, "malformed JSON"),
        (b"", "application/json", 400, "empty request body"),
        (b"[]", "application/json", 422, "invalid input"),
        (b"42", "application/json", 422, "expected a JSON object"),
        (b'"row"', "application/json", 422, "expected a JSON object"),
        (b"[1, 2]", "application/json", 422, "invalid input"),
        (b"{}", "text/plain", 415, "expected Content-Type application/json"),
        (b"{}", "", 415, "expected Content-Type application/json"),
    ],
)
def test_malformed_requests(client: TestClient, content: bytes, content_type: str, status: int, error: str) -> None:
    response = client.post("/predict", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


def test_limits_give_413(client: TestClient, known_rows: list[dict]) -> None:
    too_many = client.post("/predict", json=known_rows[: MAX_ROWS + 1])
    assert too_many.status_code == 413 and "too many rows: 51, the limit is 50" in too_many.json()["error"]
    assert client.post("/predict", json=known_rows[:MAX_ROWS]).status_code == 200
    assert client.post("/predict", json=[{"bad": 1}] * (MAX_ROWS + 1)).status_code == 413  # count first
    split = {"dataframe_records": known_rows[: MAX_ROWS + 1]}
    assert client.post("/invocations", json=split).status_code == 413
    huge = json.dumps([{**known_rows[0], "dest": "X" * 250_000}]).encode()
    too_big = client.post("/predict", content=huge, headers={"content-type": "application/json"})
    assert too_big.status_code == 413 and "exceeds the limit of 200000 bytes" in too_big.json()["error"]


def test_invocations_mlflow_formats_equal_predict(client: TestClient, known_rows: list[dict]) -> None:
    rows = known_rows[:10]
    expected = client.post("/predict", json=rows).json()["predictions"]
    columns = list(rows[0])
    payloads = [
        {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}},
        {"dataframe_records": rows},
        {"instances": rows},
        {"inputs": {c: [r[c] for r in rows] for c in columns}},
    ]
    for payload in payloads:
        response = client.post("/invocations", json=payload)
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": expected}
    csv = pd.DataFrame(rows).to_csv(index=False)
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200 and response.json() == {"predictions": expected}


def test_invocations_rejects_what_mlflow_would_ignore(client: TestClient, known_rows: list[dict]) -> None:
    columns = [*known_rows[0], "extra_column"]
    split = {"dataframe_split": {"columns": columns, "data": [[*known_rows[0].values(), 1]]}}
    response = client.post("/invocations", json=split)
    assert response.status_code == 422 and problems(response) == [(0, "extra_column", problems(response)[0][2])]
    assert client.post("/invocations", json={"dataframe_records": known_rows[:1], "extra": 1}).status_code == 422
    assert client.post("/invocations", json={"instances": known_rows[:1], "inputs": known_rows[:1]}).status_code == 422
    ragged = {"dataframe_split": {"columns": columns[:2], "data": [[1]]}}
    assert client.post("/invocations", json=ragged).status_code == 422
    csv = pd.DataFrame(known_rows[:2]).assign(temp=["warm", 1.0]).to_csv(index=False)
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 422 and problems(response)[0][:2] == (0, "temp")
    assert client.post("/invocations", content=b"a,b", headers={"content-type": "text/plain"}).status_code == 415


def test_health_ready_metadata(client: TestClient, bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    assert client.get("/health").json() == {"status": "alive"}
    assert client.get("/ready").json() == {"status": "ready", "model_version": bundle.metadata.model_version}
    metadata = client.get("/metadata").json()
    assert metadata["schema"] == bundle.schema
    assert metadata["lineage"] == bundle.metadata.lineage.model_dump()
    assert metadata["git_commit"] == (bundle.metadata.lineage.model_extra or {}).get("code_commit")
    assert metadata["data_md5"] == bundle.metadata.lineage.data_md5
    assert metadata["model_md5"] == bundle.metadata.lineage.model_md5
    assert metadata["metrics"]["test"]["roc_auc"] == bundle.metadata.metrics.test["roc_auc"]
    assert set(metadata["bundle_sha256"]) == {
        "pipeline.joblib",
        "schema.json",
        "metadata.json",
        "MODEL_CARD.md",
        "reference.json",
        "reference.parquet",
        "model.onnx",
    }
    assert metadata["params"] == bundle.metadata.params


def test_metrics_count_requests_errors_rows_and_classes(client: TestClient, known_rows: list[dict]) -> None:
    labels = [p["label"] for p in client.post("/predict", json=known_rows[:30]).json()["predictions"]]
    client.post("/predict", json={"nope": 1})
    client.get("/no-such-page")
    text = client.get("/metrics").text
    version = client.get("/metadata").json()["model_version"]

    def value(name: str, **labels_: str) -> float:
        wanted = {"model_version": version, **labels_}
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in wanted.items()):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert value("lifecycle_http_requests_total", endpoint="/predict", status="200") == 1
    assert value("lifecycle_http_errors_total", endpoint="/predict", status="422") == 1
    assert value("lifecycle_http_errors_total", endpoint="other", status="404") == 1
    assert value("lifecycle_rows_predicted_total") == 30
    assert value("lifecycle_predictions_total", label="1") == labels.count(1)
    assert value("lifecycle_predictions_total", label="0") == labels.count(0)
    assert value("lifecycle_prediction_probability_count") == 30
    assert value("lifecycle_http_request_duration_seconds_count", endpoint="/predict") == 2
    assert value("lifecycle_model_info") == 1


def test_openapi_documents_every_field_type_and_allowed_values(client: TestClient, bundle_dir: Path) -> None:
    document = client.get("/openapi.json").json()
    row = document["components"]["schemas"]["InputRow"]
    assert row["additionalProperties"] is False
    schema = load_bundle(bundle_dir).schema
    assert set(row["properties"]) == {c["name"] for c in schema["columns"]}
    assert set(row["required"]) == {c["name"] for c in schema["columns"] if not c["nullable"]}
    for column in schema["columns"]:
        field = row["properties"][column["name"]]
        if column["kind"] == "categorical" and not column["nullable"]:
            assert field["enum"] == column["categories"]
        if column["kind"] == "numeric" and not column["nullable"]:
            assert field["type"] == ("integer" if column["integer"] else "number")
            low, high = (column.get("domain", {}).get(side) for side in ("min", "max"))
            assert field["minimum"] == (-1e15 if low is None else low)
            assert field["maximum"] == (1e15 if high is None else high)
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/InputRow"} in body["anyOf"]
    assert "/invocations" in document["paths"] and client.get("/docs").status_code == 200


def test_tampered_bundle_is_refused_and_fails_ready(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "package"
    shutil.copytree(bundle_dir, copy)
    with TestClient(create_app(copy, settings(tmp_path))) as test_client:
        assert test_client.get("/ready").status_code == 200
        with (copy / "schema.json").open("a") as handle:
            handle.write(" ")
        response = test_client.get("/ready")
        assert response.status_code == 503 and "schema.json" in response.json()["error"]
        assert test_client.get("/health").status_code == 200
    with pytest.raises(LifecycleError, match="schema.json does not match its SHA-256"):
        create_app(copy, settings(tmp_path))


def test_reload_over_http_is_off_without_a_token_and_needs_the_right_one(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_TOKEN, raising=False)
    off = client.post("/admin/reload")
    assert off.status_code == 403 and ADMIN_TOKEN in off.json()["error"]
    monkeypatch.setenv(ADMIN_TOKEN, "s3cret")
    assert client.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": "s3cret"}).status_code == 401  # not a bearer token
    bad = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}, content=b"[1, 2")
    assert bad.status_code == 400 and "the body must be empty" in bad.json()["error"]
    same = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"})
    assert same.status_code == 200 and same.json()["model_version"] == same.json()["previous"]


def test_the_loaded_service_is_frozen_and_a_reloaded_one_is_collected(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's objects are out of the collector's sight once it is up (settle_heap);
    a reload unfreezes them first, so the replaced service does not outlive the swap."""
    assert gc.get_freeze_count() > 10_000
    replaced = weakref.ref(client.app.state.service)  # type: ignore[attr-defined]
    monkeypatch.setenv(ADMIN_TOKEN, "s3cret")
    assert client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert replaced() is None
    assert gc.get_freeze_count() > 10_000
