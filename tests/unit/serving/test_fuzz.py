"""No client input makes the service answer 5xx: hypothesis on rows, schemathesis on the OpenAPI spec."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance

from lifecycle.config import PredictionLogSettings, ServeSettings, load_params
from lifecycle.serving.app import create_app

pytestmark = pytest.mark.e2e

MAX_ROWS = 20

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
# CSV bodies for /invocations: arbitrary text, in the absence of a CSV schema.
schemathesis.openapi.media_type("text/csv", st.text(max_size=300).map(str.encode))


@pytest.fixture(scope="module")
def fuzz_app(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("fuzz")
    # the flights key declared, so /feedback's labels by key are explored too
    log = PredictionLogSettings(url=f"sqlite:///{folder / 'log.sqlite'}", labels_key=load_params().serve.log.labels_key)
    app = create_app(
        bundle_dir, ServeSettings(max_rows=MAX_ROWS, max_body_bytes=100_000, unknown_category="reject", log=log)
    )
    with TestClient(app):  # runs the lifespan: the log is closed at the end
        yield app


@pytest.fixture(scope="module")
def client(fuzz_app: FastAPI) -> TestClient:
    return TestClient(fuzz_app)


@st.composite
def mutated_rows(draw: st.DrawFn, rows: list[dict[str, Any]]) -> Any:
    """A valid row with some fields replaced by any JSON value, removed, or added."""
    row = dict(draw(st.sampled_from(rows)))
    names = sorted(row)
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        if draw(st.booleans()):
            row[name] = draw(json_values)
        else:
            del row[name]
    row.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return row


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_json_body_gets_a_prediction_or_a_4xx_naming_the_problem(
    client: TestClient, known_rows: list[dict], data: st.DataObject
) -> None:
    one = mutated_rows(known_rows[:200])
    body = data.draw(st.one_of(one, st.lists(one, max_size=MAX_ROWS + 2), json_values))
    # NaN and Infinity are sent as the literals Python's json writes (not valid JSON).
    response = client.post("/predict", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    answer = response.json()
    if response.status_code == 200:
        rows = body if isinstance(body, list) else [body]
        assert len(answer["predictions"]) == len(rows)
        assert all(0 <= p["probability"] <= 1 and p["label"] in (0, 1) for p in answer["predictions"])
        assert all(not (isinstance(v, float) and not math.isfinite(v)) for row in rows for v in row.values()), (
            "a non-finite number was accepted"
        )
    else:
        assert response.status_code in (400, 413, 422) and answer["error"]
        if response.status_code == 422 and answer["problems"]:
            assert all(p["message"] for p in answer["problems"])


def test_openapi_spec_finds_no_server_error(fuzz_app: FastAPI) -> None:
    """Every operation of the app's own OpenAPI document, fuzzed by schemathesis.

    Driven through hypothesis directly: schemathesis' pytest plugin does not support this pytest.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/invocations", "/health", "/ready", "/metadata", "/metrics"}
    calls: Counter[str] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            calls[f"{case.method} {case.path}"] += 1
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        fuzz()
    # every operation was really called, the scoring ones with many generated bodies
    assert set(calls) == {f"{op.method.upper()} {op.path}" for op in operations}
    assert calls["POST /predict"] >= 20 and calls["POST /invocations"] >= 20
