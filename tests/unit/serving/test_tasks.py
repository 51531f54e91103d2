"""Serving multiclass and regression models: the bundles the pipeline's stages packaged for
scikit-learn's bundled datasets (wine: three cultivars with text labels; diabetes: a float
target), served by the real app, answering exactly what `Bundle.predict` gives, logged and
counted."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram
from schemathesis.checks import not_a_server_error, response_schema_conformance

from lifecycle.config import PredictionLogSettings, ServeSettings
from lifecycle.packaging.batch import score_file
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.app import create_app
from lifecycle.serving.fast_path import compile_fast_path
from lifecycle.serving.prediction_log import read_prediction_log
from lifecycle.serving.prometheus import VALUE_BUCKET_STDS, ServiceMetrics, observe_all, value_buckets
from lifecycle.serving.request_model import RowValidator
from lifecycle.serving.scoring import Flags, Scorer, Scores
from lifecycle.tasks.regression import REGRESSION
from tests.support.serving import ServerProcess, TaskBundle, metric_value

TASKS = ("multiclass", "regression")
KEYS = {
    "multiclass": ["label", "probability", "probabilities", "unknown_categories", "beyond_training_range"],
    "regression": ["label", "unknown_categories", "beyond_training_range"],
}


@pytest.fixture(params=TASKS)
def task_bundle(request: pytest.FixtureRequest) -> TaskBundle:
    return request.getfixturevalue(f"{request.param}_bundle")


def log_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'log.sqlite'}"


def settings(folder: Path, **changes: Any) -> ServeSettings:
    log = PredictionLogSettings(url=log_url(folder), flush_seconds=0.05)
    return ServeSettings(max_rows=200, log=log).model_copy(update=changes)


@pytest.fixture()
def client(task_bundle: TaskBundle, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(task_bundle.path, settings(tmp_path))) as test_client:
        yield test_client


def beyond_training_range(schema: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """The numeric fields of `row` outside the training range the schema records."""
    numeric = [c for c in schema["columns"] if c["kind"] == "numeric"]
    return [c["name"] for c in numeric if row[c["name"]] is not None and not c["min"] <= row[c["name"]] <= c["max"]]


def expected_answers(bundle_dir: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the service must answer for `rows`, built from `Bundle.predict` and the schema alone."""
    bundle = load_bundle(bundle_dir)
    scored = bundle.predict(pd.DataFrame(rows))
    assert scored["error"].isna().all()
    answers = []
    for (_, row), sent in zip(scored.iterrows(), rows, strict=True):
        flags = {"unknown_categories": [], "beyond_training_range": beyond_training_range(bundle.schema, sent)}
        if not bundle.task.classification:
            answers.append({"label": float(row["prediction"]), **flags})
            continue
        answers.append(
            {
                "label": row["prediction"],
                "probability": float(row["probability"]),
                "probabilities": {str(c): float(row[f"probability_{c}"]) for c in bundle.classes},
                **flags,
            }
        )
    return answers


def test_predict_answers_equal_bundle_predict(client: TestClient, task_bundle: TaskBundle) -> None:
    rows = task_bundle.rows
    expected = expected_answers(task_bundle.path, rows)
    many = client.post("/predict", json=rows)
    one = client.post("/predict", json=rows[0])
    assert many.status_code == one.status_code == 200, many.text
    predictions = many.json()["predictions"]
    assert predictions == expected
    assert one.json()["predictions"] == expected[:1]
    assert all(list(p) == KEYS[task_bundle.task] for p in predictions)  # the task's keys, in order
    if task_bundle.task == "multiclass":
        labels = {p["label"] for p in predictions}
        assert labels <= {"class_0", "class_1", "class_2"} and len(labels) == 3
        for p in predictions:
            assert p["probability"] == max(p["probabilities"].values())
            assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
            assert math.isclose(sum(p["probabilities"].values()), 1.0)
    else:
        assert all(isinstance(p["label"], float) for p in predictions)
        assert len({p["label"] for p in predictions}) > 10  # real values, not a constant


def test_invocations_equal_predict(client: TestClient, task_bundle: TaskBundle) -> None:
    rows = task_bundle.rows[:25]
    expected = client.post("/predict", json=rows).json()["predictions"]
    columns = list(rows[0])
    split = {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}}
    assert client.post("/invocations", json=split).json() == {"predictions": expected}
    assert client.post("/invocations", json={"instances": rows}).json() == {"predictions": expected}
    csv = pd.DataFrame(rows).to_csv(index=False)
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    # CSV text holds the same numbers up to the last digit; the labels are the same
    assert [p["label"] for p in response.json()["predictions"]] == pytest.approx([p["label"] for p in expected])


def test_every_prediction_is_logged_with_its_type(task_bundle: TaskBundle, tmp_path: Path) -> None:
    rows = task_bundle.rows
    assert len(rows) > 40
    with TestClient(create_app(task_bundle.path, settings(tmp_path))) as test_client:
        first = test_client.post("/predict", json=rows[:40]).json()
        second = test_client.post("/invocations", json={"dataframe_records": rows[40:]}).json()
    answers = first["predictions"] + second["predictions"]
    log = read_prediction_log(log_url(tmp_path))
    assert len(log) == len(rows) and log["request_id"].nunique() == 2
    assert log["prediction"].tolist() == [a["label"] for a in answers]
    assert log["unknown_categories"].tolist() == [[]] * len(rows)
    if task_bundle.task == "multiclass":
        assert log["prediction"].map(type).eq(str).all()
        assert log["probability"].tolist() == [a["probability"] for a in answers]
        assert log["probabilities"].tolist() == [a["probabilities"] for a in answers]
    else:
        assert log["prediction"].dtype == np.float64
        assert log["probability"].isna().all() and log["probabilities"].isna().all()
    inputs = [c for c in rows[0]]
    assert log[inputs].to_dict("records") == rows


def test_metrics_count_classes_or_observe_values(client: TestClient, task_bundle: TaskBundle) -> None:
    labels = [p["label"] for p in client.post("/predict", json=task_bundle.rows[:30]).json()["predictions"]]
    text = client.get("/metrics").text
    version = load_bundle(task_bundle.path).metadata.model_version
    assert metric_value(text, "lifecycle_rows_predicted_total", model_version=version) == 30
    assert metric_value(text, "lifecycle_model_info", model_version=version, task=task_bundle.task) == 1
    if task_bundle.task == "multiclass":
        for label in set(labels):
            assert metric_value(text, "lifecycle_predictions_total", label=label) == labels.count(label)
        assert metric_value(text, "lifecycle_predicted_class_probability_count") == 30
        assert metric_value(text, "lifecycle_prediction_probability_count") is None  # binary only
        assert metric_value(text, "lifecycle_predicted_value_count") is None
    else:
        assert metric_value(text, "lifecycle_predicted_value_count") == 30
        assert metric_value(text, "lifecycle_predicted_value_bucket", le="+Inf") == 30
        test = load_bundle(task_bundle.path).metadata.metrics.test
        counts = []
        for bound in value_buckets(test)[:-1]:  # the test target's mean ± k std
            counts.append(sum(value <= bound for value in labels))
            assert metric_value(text, "lifecycle_predicted_value_bucket", le=str(bound)) == counts[-1]
        assert len(set(counts)) > 3  # the buckets spread the predictions
        assert metric_value(text, "lifecycle_predictions_total") is None


def test_metadata_reports_task_and_classes(client: TestClient, task_bundle: TaskBundle) -> None:
    metadata = client.get("/metadata").json()
    assert metadata["task"] == task_bundle.task
    if task_bundle.task == "multiclass":
        assert (metadata["target"], metadata["classes"]) == ("label", ["class_0", "class_1", "class_2"])
    else:
        assert (metadata["target"], metadata["classes"]) == ("label", None)
    assert metadata["threshold"] is None


def test_openapi_describes_the_task_answer(client: TestClient, task_bundle: TaskBundle) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    prefix = task_bundle.task.capitalize()
    answer = document["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": f"#/components/schemas/{prefix}PredictResponse"}
    row = schemas[f"{prefix}Prediction"]
    assert list(row["properties"]) == KEYS[task_bundle.task]
    assert all(field.get("description") for field in row["properties"].values())
    if task_bundle.task == "regression":
        assert row["properties"]["label"]["type"] == "number"
    else:
        assert {"type": "string"} in row["properties"]["label"]["anyOf"]
        assert row["properties"]["probabilities"]["additionalProperties"] == {"type": "number"}
    assert task_bundle.task in document["info"]["description"]


def test_unknown_categories_are_flagged_or_refused(task_bundle: TaskBundle, tmp_path: Path) -> None:
    row = {**task_bundle.rows[0], task_bundle.categorical: "never seen"}
    with TestClient(create_app(task_bundle.path, settings(tmp_path, unknown_category="accept"))) as test_client:
        accepted = test_client.post("/predict", json=[task_bundle.rows[0], row])
        refused = TestClient(create_app(task_bundle.path, settings(tmp_path / "r", unknown_category="reject")))
        with refused:
            assert refused.post("/predict", json=row).status_code == 422
    assert accepted.status_code == 200
    first, second = accepted.json()["predictions"]
    assert first["unknown_categories"] == [] and second["unknown_categories"] == [task_bundle.categorical]
    expected = load_bundle(task_bundle.path).predict(pd.DataFrame([row]), unknown_category="accept")
    assert second["label"] == pytest.approx(expected["prediction"].iloc[0])


def test_every_task_takes_the_fast_path_with_the_pipeline_s_answers(task_bundle: TaskBundle, tmp_path: Path) -> None:
    """A multiclass or regression gradient-boosting pipeline compiles too: its scores equal
    the packaged pipeline's bit for bit on the whole test split, one row at a time and in a
    batch, and the service answers the same with the fast path on or off."""
    bundle = load_bundle(task_bundle.path)
    fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
    assert fast is not None and Scorer(bundle, fast_path=True).fast is not None
    rows = RowValidator(bundle.schema, "accept", len(task_bundle.rows)).from_python(task_bundle.rows)
    frame = pd.DataFrame.from_records(rows, columns=bundle.input_columns)
    expected = bundle.task.model_scores(bundle.pipeline, frame, bundle.classes)
    np.testing.assert_array_equal(fast.scores(rows), expected)
    np.testing.assert_array_equal(np.concatenate([fast.scores([row]) for row in rows]), expected)
    answers = []
    for fast_path in (True, False):
        app = create_app(task_bundle.path, settings(tmp_path / str(fast_path), fast_path=fast_path))
        with TestClient(app) as test_client:
            answers.append(test_client.post("/predict", json=task_bundle.rows[:50]).json()["predictions"])
    assert answers[0] == answers[1]


# CSV bodies for /invocations: arbitrary text, in the absence of a CSV schema.
schemathesis.openapi.media_type("text/csv", st.text(max_size=300).map(str.encode))


def test_answers_conform_to_the_task_response_models(task_bundle: TaskBundle, tmp_path: Path) -> None:
    """schemathesis on the app's own OpenAPI document: no 5xx, and every answer (valid rows
    get 200s) conforms to the task's documented response model."""
    app = create_app(task_bundle.path, settings(tmp_path, max_rows=20))
    calls: Counter[str] = Counter()
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path not in ("/predict", "/invocations"):
                continue

            @given(case=operation.as_strategy())
            @hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                calls[case.path] += 1
                case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

            fuzz()
    assert calls["/predict"] >= 10 and calls["/invocations"] >= 10  # both operations were fuzzed


@pytest.mark.parametrize(
    ("labels", "probabilities", "class_probabilities"),
    [
        ([151.25, math.nan], None, None),
        ([0, 1], [0.5, math.inf], None),
        (["a", "b"], [0.5, 0.5], [{"a": 0.5, "b": 0.5}, {"a": math.nan, "b": 0.5}]),
    ],
    ids=["regression value", "probability", "class probability"],
)
def test_a_non_finite_model_output_is_refused_not_answered_as_null(
    labels: list[Any], probabilities: list[float] | None, class_probabilities: list[dict[str, float]] | None
) -> None:
    """The answer's JSON encoder writes NaN as null: the scores refuse it first (a 500)."""
    flags = Flags([[], []], [[], []])
    with pytest.raises(ValueError, match="non-finite"):
        Scores(labels, flags, probabilities, class_probabilities)
    finite = [0.5 if isinstance(value, float) else value for value in labels]
    assert Scores(finite, flags, probabilities and [0.5, 0.5]).labels == finite


def histogram_samples(values: list[float], batched: bool) -> dict[str, float]:
    """A histogram's samples (bucket -> cumulative count, count, sum) after observing `values`."""
    histogram = Histogram("h", "h", registry=CollectorRegistry(), buckets=(0.1, 0.5, 1.0, math.inf))
    if batched:
        observe_all(histogram, values)
    else:
        for value in values:
            histogram.observe(value)
    return {f"{s.name}{s.labels}": s.value for s in histogram.collect()[0].samples if s.name != "h_created"}


def test_observing_a_batch_fills_the_buckets_observing_each_value_fills() -> None:
    """Values on the bounds, between them, beyond the last finite one, negative; then many."""
    edges = [0.1, 0.5, 0.50001, 1.0, 7.5, -2.0, 0.0, 0.3, 0.3]
    for batched in (True, False):
        samples = histogram_samples(edges, batched)
        assert [samples[f"h_bucket{{'le': '{le}'}}"] for le in ("0.1", "0.5", "1.0", "+Inf")] == [3, 6, 8, 9]
    many = np.random.default_rng(0).normal(0.5, 1, 500).tolist()
    one_by_one, at_once = histogram_samples(many, batched=False), histogram_samples(many, batched=True)
    assert one_by_one.pop("h_sum{}") == pytest.approx(at_once.pop("h_sum{}"), rel=1e-12)
    assert at_once == one_by_one and histogram_samples([], batched=True)["h_count{}"] == 0


def test_value_buckets_follow_the_test_target() -> None:
    buckets = value_buckets({"target_mean": 100.0, "target_std": 10.0})
    assert buckets[:3] == (70.0, 80.0, 85.0) and buckets[-2:] == (130.0, math.inf)
    assert len(buckets) == len(VALUE_BUCKET_STDS) + 1
    assert value_buckets({"target_mean": 1.0, "target_std": 0.0}) == value_buckets({})


def test_predicted_value_sum_is_exported_when_no_bucket_is_negative() -> None:
    metrics = ServiceMetrics("v", ["/predict"], REGRESSION, value_buckets({"target_mean": 100.0, "target_std": 10.0}))
    metrics.observe_predictions([90.0, 120.5])
    text = metrics.exposition().decode()
    assert metric_value(text, "lifecycle_predicted_value_sum") == 210.5
    assert metric_value(text, "lifecycle_predicted_value_bucket", le="100.0") == 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_batch_predict_writes_the_task_columns(multiclass_bundle: TaskBundle, tmp_path: Path, suffix: str) -> None:
    bundle = load_bundle(multiclass_bundle.path)
    rows = pd.DataFrame(multiclass_bundle.rows)
    rows.loc[:9, multiclass_bundle.categorical] = "never seen"  # the whole first chunk fails
    source, target = tmp_path / f"rows{suffix}", tmp_path / f"scored{suffix}"
    rows.to_csv(source, index=False) if suffix == ".csv" else rows.to_parquet(source, index=False)
    assert score_file(bundle, source, target, chunk_rows=10) == len(rows)
    scored = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    expected = bundle.predict(rows)
    added = ["prediction", "probability", *(f"probability_{c}" for c in bundle.classes), "error"]
    assert scored.columns[-len(added) :].tolist() == added
    assert scored["prediction"].head(10).isna().all()
    assert scored["prediction"].iloc[10:].tolist() == expected["prediction"].iloc[10:].tolist()
    np.testing.assert_array_equal(scored["probability_class_1"], expected["probability_class_1"])


def test_a_real_server_answers_and_logs_each_task(
    multiclass_bundle: TaskBundle, regression_bundle: TaskBundle, tmp_path: Path
) -> None:
    """`python -m lifecycle serve` on 127.0.0.1 for both bundles at once; SIGTERM flushes
    the logs."""
    servers = {}
    for task_bundle in (multiclass_bundle, regression_bundle):
        url = log_url(tmp_path / task_bundle.task)
        # params.yaml's labels key names flights columns: these bundles take labels by request id
        server = ServerProcess(task_bundle.path, url, extra=["--labels-key", ""])
        servers[task_bundle.task] = (task_bundle, url, server)
    try:
        answers = {}
        for task, (task_bundle, _, server) in servers.items():
            server.wait_ready()
            response = httpx.post(f"{server.url}/predict", json=task_bundle.rows[:15], timeout=30)
            assert response.status_code == 200, response.text
            answers[task] = response.json()["predictions"]
            assert answers[task] == expected_answers(task_bundle.path, task_bundle.rows[:15])
            assert json.loads(httpx.get(f"{server.url}/metadata").text)["task"] == task
        for task, (_, url, server) in servers.items():
            server.stop_gracefully()
            assert read_prediction_log(url)["prediction"].tolist() == [a["label"] for a in answers[task]]
    finally:
        for _, _, server in servers.values():
            server.__exit__()
