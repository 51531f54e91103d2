"""The HTTP service: the packaged model behind FastAPI, strict, observable, every prediction logged.

`create_app` loads the bundle (refusing it if any file's SHA-256 differs from the
manifest), generates the request model from its schema and returns the app; `serve`
runs it with uvicorn on 127.0.0.1. Request bodies are read and validated by hand rather
than by FastAPI's body parameters, so that a body's size, content type, JSON syntax,
row count and every field get their own precise 4xx answer; the OpenAPI document still
describes the exact row model (see `_openapi`).

The answer per row follows the bundle's task (binary, multiclass, regression): always a
`label` (the class, or the predicted value) and `unknown_categories`; a `probability` for
classification; a `probabilities` object (class -> probability) for multiclass. The
OpenAPI document describes the served task's response models.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lifecycle.packaging.bundle import load_bundle, verify_bundle
from lifecycle.config import ServeSettings
from lifecycle.errors import LifecycleError
from lifecycle.serving.errors import ErrorBody, InputError, Problem
from lifecycle.serving.prometheus import CONTENT_TYPE, MetricsMiddleware, ServiceMetrics, value_buckets
from lifecycle.serving.mlflow_payload import FORMATS, rows_from_csv, rows_from_json
from lifecycle.serving.prediction_log import PredictionLog, now
from lifecycle.serving.request_model import ROW_MODEL_NAME, RowValidator
from lifecycle.serving.scoring import Scorer, Scores

logger = logging.getLogger(__name__)

ENDPOINTS = ("/predict", "/invocations", "/health", "/ready", "/metadata", "/metrics")
JSON_TYPE, CSV_TYPE = "application/json", "text/csv"
# Up to this many rows are scored on the event loop (well under a millisecond each with
# the fast path); larger requests go to the thread pool so they never stall the loop.
INLINE_ROWS = 64
GRACEFUL_SHUTDOWN_SECONDS = 30


UnknownCategories = Annotated[
    list[str],
    Field(
        description="Categorical fields whose value was never seen in training "
        "(only with the accept policy)"
    ),
]


class Prediction(BaseModel):
    """A binary classifier's answer for one row."""

    label: bool | int | float | str = Field(
        description="The predicted class: the positive class (the second of /metadata's `classes`) "
        "when `probability` is at least the packaged threshold, else the negative class"
    )
    probability: float = Field(description="Probability of the positive class, in [0, 1]")
    unknown_categories: UnknownCategories


class MulticlassPrediction(BaseModel):
    """A multiclass classifier's answer for one row."""

    label: bool | int | float | str = Field(
        description="The predicted class: the most probable one of /metadata's `classes`"
    )
    probability: float = Field(
        description="Probability of the predicted class (`label`), in [0, 1]"
    )
    probabilities: dict[str, float] = Field(
        description="Probability of every class, keyed by the class label as text, in the order of "
        "/metadata's `classes`; they sum to 1"
    )
    unknown_categories: UnknownCategories


class RegressionPrediction(BaseModel):
    """A regressor's answer for one row (no probability)."""

    label: float = Field(description="The predicted value of the target")
    unknown_categories: UnknownCategories


class PredictResponse(BaseModel):
    """The answer of /predict: one prediction per row, in request order."""

    request_id: str
    model_version: str
    predictions: list[Prediction]


class MulticlassPredictResponse(BaseModel):
    """The answer of /predict: one prediction per row, in request order."""

    request_id: str
    model_version: str
    predictions: list[MulticlassPrediction]


class RegressionPredictResponse(BaseModel):
    """The answer of /predict: one prediction per row, in request order."""

    request_id: str
    model_version: str
    predictions: list[RegressionPrediction]


class InvocationsResponse(BaseModel):
    """The answer of /invocations, in MLflow's shape."""

    predictions: list[Prediction]


class MulticlassInvocationsResponse(BaseModel):
    """The answer of /invocations, in MLflow's shape."""

    predictions: list[MulticlassPrediction]


class RegressionInvocationsResponse(BaseModel):
    """The answer of /invocations, in MLflow's shape."""

    predictions: list[RegressionPrediction]


# The response models of /predict and /invocations for each task.
RESPONSES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "binary": (PredictResponse, InvocationsResponse),
    "multiclass": (MulticlassPredictResponse, MulticlassInvocationsResponse),
    "regression": (RegressionPredictResponse, RegressionInvocationsResponse),
}


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed JSON or CSV, or an unreadable body",
        413: "Body larger than serve.max_body_bytes or more rows than serve.max_rows",
        415: "Wrong Content-Type",
        422: "A row failed the schema: each problem names the row and field",
    }.items()
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputError(413, f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InputError(413, f"request body exceeds the limit of {limit} bytes")
    if not body:
        raise InputError(400, "empty request body")
    return bytes(body)


def _json(payload: dict[str, Any], request_id: str | None = None, status: int = 200) -> Response:
    headers = {"x-request-id": request_id} if request_id else None
    return Response(json.dumps(payload, allow_nan=False), status_code=status, media_type=JSON_TYPE, headers=headers)


def _error(status: int, body: ErrorBody) -> Response:
    return _json(body.model_dump(), status=status)


def _task_description(task: str, classes: list[Any]) -> str:
    if task == "regression":
        return "Task: regression; each row's `label` is the predicted value."
    shown = ", ".join(f"`{json.dumps(c)}`" for c in classes)
    if task == "binary":
        return (
            f"Task: binary ({shown}); each row gets its `label` and the positive class's "
            "`probability`."
        )
    return (
        f"Task: multiclass ({shown}); each row gets its `label`, that label's `probability` "
        "and every class's `probabilities`."
    )


def _invocations_body_schema(row: dict[str, Any]) -> dict[str, Any]:
    rows = {"type": "array", "items": row, "minItems": 1}
    split = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array"}, "minItems": 1},
            "index": {"type": "array"},
        },
        "required": ["columns", "data"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "Exactly one of the keys, as MLflow's scoring server takes them.",
        "properties": {"dataframe_split": split, "dataframe_records": rows, "instances": rows, "inputs": rows},
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
    }


def create_app(bundle_dir: Path, settings: ServeSettings) -> FastAPI:
    """The service for the bundle in `bundle_dir`; raises LifecycleError if it fails verification."""
    bundle = load_bundle(bundle_dir)
    digests = verify_bundle(bundle_dir)
    version = str(bundle.metadata["model_version"])
    policy = settings.unknown_category or bundle.metadata["unknown_category"]
    validator = RowValidator(bundle.schema, policy, settings.max_rows)
    scorer = Scorer(bundle, settings.fast_path)
    task = bundle.task
    classes = scorer.classes or []
    test_metrics = (bundle.metadata.get("metrics") or {}).get("test") or {}
    metrics = ServiceMetrics(version, ENDPOINTS, task, value_buckets(test_metrics))
    predict_response, invocations_response = RESPONSES[task]
    kinds = {c["name"]: c["kind"] for c in bundle.schema["columns"]}
    row_ref = {"$ref": f"#/components/schemas/{ROW_MODEL_NAME}"}
    logger.info(
        "serving %s model %s from %s (unknown categories: %s, fast path: %s)",
        task, version, bundle_dir, policy, "on" if scorer.fast else "off",
    )

    # Opened here, not at startup, so a bad log URL stops the command before it binds a port.
    log = PredictionLog(settings.log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:  # after uvicorn has let in-flight requests finish (graceful shutdown, SIGTERM)
            await run_in_threadpool(log.close)
            logger.info("prediction log flushed and closed")

    app = FastAPI(
        title="lifecycle model service",
        version=version,
        description=(
            "Predictions of the packaged model for raw rows. Every field of a row is documented "
            f"in the `{ROW_MODEL_NAME}` schema with its type and allowed values. "
            f"{_task_description(task, classes)} Unknown categories: "
            f"`{policy}`. Limits: {settings.max_rows} rows, {settings.max_body_bytes} bytes per request."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(InputError)
    async def input_error(_: Request, error: InputError) -> Response:
        return _error(error.status, error.body)

    @app.exception_handler(RequestValidationError)
    async def request_error(_: Request, error: RequestValidationError) -> Response:
        problems = [Problem(field=".".join(map(str, e["loc"])), message=e["msg"], type=e["type"]) for e in error.errors()]
        return _error(422, ErrorBody(error="invalid request", problems=problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> Response:
        return _error(error.status_code, ErrorBody(error=str(error.detail)))

    @app.exception_handler(Exception)
    async def server_error(_: Request, error: Exception) -> Response:
        logger.error("unhandled error", exc_info=error)
        return _error(500, ErrorBody(error="internal server error (logged)"))

    async def score(rows: list[dict[str, Any]], endpoint: str, started: float) -> tuple[str, Scores]:
        scores = scorer.score(rows) if len(rows) <= INLINE_ROWS and scorer.fast else await run_in_threadpool(scorer.score, rows)
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = uuid.uuid4().hex
        metrics.observe_predictions(scores.labels, scores.probabilities)
        stamp = now()
        log.append(
            [
                {
                    "request_id": request_id, "row_index": index, "logged_at": stamp, "model_version": version,
                    "endpoint": endpoint, "input": row, "prediction": label,
                    "probability": scores.probability(index),
                    "probabilities": scores.class_probability(index),
                    "unknown_categories": unknown, "latency_ms": latency_ms,
                }
                for index, (row, label, unknown) in enumerate(
                    zip(rows, scores.labels, scores.unknown_categories)
                )
            ]
        )
        return request_id, scores

    @app.post(
        "/predict",
        summary="Predict one row (an object) or a list of rows",
        responses={200: {"model": predict_response}, **ERRORS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON_TYPE: {
                        "schema": {
                            "anyOf": [row_ref, {"type": "array", "items": row_ref, "minItems": 1, "maxItems": settings.max_rows}]
                        }
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        if _media_type(request) != JSON_TYPE:
            raise InputError(415, f"expected Content-Type {JSON_TYPE}, got {request.headers.get('content-type')!r}")
        rows = validator.from_json(await _read_body(request, settings.max_body_bytes))
        request_id, scores = await score(rows, "/predict", started)
        return _json(
            {"request_id": request_id, "model_version": version, "predictions": scores.answers()},
            request_id,
        )

    @app.post(
        "/invocations",
        summary="MLflow-compatible scoring: " + ", ".join(FORMATS) + ", or CSV",
        responses={200: {"model": invocations_response}, **ERRORS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON_TYPE: {"schema": _invocations_body_schema(row_ref)},
                    CSV_TYPE: {"schema": {"type": "string", "description": "CSV with a header line"}},
                },
            }
        },
    )
    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        media = _media_type(request)
        if media not in (JSON_TYPE, CSV_TYPE):
            raise InputError(415, f"expected Content-Type {JSON_TYPE} or {CSV_TYPE}, got {request.headers.get('content-type')!r}")
        body = await _read_body(request, settings.max_body_bytes)
        raw = rows_from_json(body) if media == JSON_TYPE else rows_from_csv(body, kinds)
        rows = validator.from_python(raw)
        request_id, scores = await score(rows, "/invocations", started)
        return _json({"predictions": scores.answers()}, request_id)

    @app.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/ready", summary="The model is loaded and its files still match the manifest", responses={503: {"model": ErrorBody}})
    def ready() -> Response:
        try:
            current = verify_bundle(bundle_dir)
        except LifecycleError as error:
            return _error(503, ErrorBody(error=str(error)))
        if current != digests:
            return _error(503, ErrorBody(error=f"bundle {bundle_dir} changed on disk since it was loaded"))
        return _json({"status": "ready", "model_version": version})

    @app.get(
        "/metadata",
        summary="Model version, task and classes, lineage, params, test metrics and input schema",
    )
    async def metadata() -> dict[str, Any]:
        lineage = bundle.metadata.get("lineage", {})
        return {
            "model_version": version,
            "task": task,
            "target": bundle.metadata.get("target"),
            "classes": scorer.classes,  # None for regression
            "git_commit": lineage.get("code_commit"),  # None when the bundle does not record one
            "data_md5": lineage.get("data_md5"),
            "model_md5": lineage.get("model_md5"),
            "lineage": lineage,
            "bundle_sha256": digests,
            "params": bundle.metadata.get("params"),
            "metrics": bundle.metadata.get("metrics"),
            "threshold": bundle.metadata.get("threshold"),
            "unknown_category": policy,
            "limits": {"max_rows": settings.max_rows, "max_body_bytes": settings.max_body_bytes},
            "schema": bundle.schema,
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    def _openapi() -> dict[str, Any]:
        """FastAPI's document plus the generated row model the request bodies refer to."""
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            document.setdefault("components", {}).setdefault("schemas", {})[ROW_MODEL_NAME] = validator.json_schema()
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = _openapi  # type: ignore[method-assign]
    app.state.prediction_log = log
    return app


def serve(bundle_dir: Path, settings: ServeSettings) -> None:
    """Run the service until SIGINT/SIGTERM; in-flight requests finish, the log is flushed."""
    app = create_app(bundle_dir, settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
