"""The service's routes: prediction (/predict, /invocations), late labels (/feedback) and
operations (/health and /ping, /ready, /version, /metadata, /metrics), each reading the app's
`Service` through a dependency. /ping, /version and /invocations answer as MLflow's scoring server does, so
MLflow's clients and tooling work unchanged.

Request bodies are read and validated by hand rather than by FastAPI's body parameters,
so that a body's size, content type, JSON syntax, row count and every field get their own
precise 4xx answer; the OpenAPI document still describes them (`openapi_extra`).
"""

from __future__ import annotations

import importlib.metadata
import json
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from lifecycle.errors import LifecycleError
from lifecycle.monitoring.labels import LabelConflict, check_labels
from lifecycle.packaging.bundle import verify_bundle
from lifecycle.serving.errors import InputError
from lifecycle.serving.feedback import FeedbackReader
from lifecycle.serving.mlflow_payload import FORMATS, rows_from_csv, rows_from_json
from lifecycle.serving.prometheus import CONTENT_TYPE
from lifecycle.serving.request_model import ROW_MODEL_NAME
from lifecycle.serving.schemas import (
    ERROR_RESPONSES,
    ErrorBody,
    FeedbackReceipt,
    Problem,
    invocations_body_schema,
    predict_body_schema,
    responses_of,
)
from lifecycle.serving.service import Service, get_service
from lifecycle.tasks.base import Task

JSON_TYPE, CSV_TYPE = "application/json", "text/csv"
SERVICE_VERSION = importlib.metadata.version("lifecycle")
ROW_REF = {"$ref": f"#/components/schemas/{ROW_MODEL_NAME}"}
Served = Annotated[Service, Depends(get_service)]


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer, encoded by orjson: a 100-row answer in a quarter of `json`'s time.
    orjson writes NaN as null, and no answer holds one: the only computed numbers are the
    model's, and `Scores` refuses a non-finite one (a 500, never a null prediction)."""
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON_TYPE)


def error_response(status: int, body: ErrorBody) -> Response:
    return json_response(body.model_dump(), status)


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


def prediction_router(task: Task, max_rows: int) -> APIRouter:
    """/predict and /invocations, documented with the task's answer and the row limit."""
    router = APIRouter()
    predict_response, invocations_response = responses_of(task.answer)

    @router.post(
        "/predict",
        summary="Predict one row (an object) or a list of rows",
        responses={200: {"model": predict_response}, **ERROR_RESPONSES},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {JSON_TYPE: {"schema": predict_body_schema(ROW_REF, max_rows)}},
            }
        },
    )
    async def predict(request: Request, service: Served) -> Response:
        started = time.perf_counter()
        if _media_type(request) != JSON_TYPE:
            raise InputError(415, f"expected Content-Type {JSON_TYPE}, got {request.headers.get('content-type')!r}")
        rows = service.validator.from_json(await _read_body(request, service.settings.max_body_bytes))
        request_id = request.state.request_id
        scores = await service.score(rows, "/predict", request_id, started)
        return json_response(
            {"request_id": request_id, "model_version": service.version, "predictions": scores.answers()}
        )

    @router.post(
        "/invocations",
        summary="MLflow-compatible scoring: " + ", ".join(FORMATS) + ", or CSV",
        responses={200: {"model": invocations_response}, **ERROR_RESPONSES},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON_TYPE: {"schema": invocations_body_schema(ROW_REF)},
                    CSV_TYPE: {"schema": {"type": "string", "description": "CSV with a header line"}},
                },
            }
        },
    )
    async def invocations(request: Request, service: Served) -> Response:
        started = time.perf_counter()
        media = _media_type(request)
        if media not in (JSON_TYPE, CSV_TYPE):
            raise InputError(
                415, f"expected Content-Type {JSON_TYPE} or {CSV_TYPE}, got {request.headers.get('content-type')!r}"
            )
        body = await _read_body(request, service.settings.max_body_bytes)
        kinds = {c["name"]: c["kind"] for c in service.bundle.schema["columns"]}
        raw = rows_from_json(body) if media == JSON_TYPE else rows_from_csv(body, kinds)
        rows = service.validator.from_python(raw)
        scores = await service.score(rows, "/invocations", request.state.request_id, started)
        return json_response({"predictions": scores.answers()})

    return router


def feedback_router(reader: FeedbackReader) -> APIRouter:
    """/feedback, documented with the label forms the bundle and the declared key take."""
    router = APIRouter()

    @router.post(
        "/feedback",
        summary="Late labels: the real outcome of predicted rows, one label or a list, by request id or by key",
        responses={
            200: {"model": FeedbackReceipt},
            409: {
                "model": ErrorBody,
                "description": "A row or key already holds a different label: each problem names it",
            },
            **ERROR_RESPONSES,
        },
        openapi_extra={"requestBody": {"required": True, "content": {JSON_TYPE: {"schema": reader.body_schema()}}}},
    )
    async def post_feedback(request: Request, service: Served) -> Response:
        """Store labels checked against the bundle's task (a class of the model, or a finite number).

        The same label twice changes nothing; a label for a request (or a key) the log does not
        hold is stored and counted as unmatched; a different label for a labelled row or key
        stores nothing of the body and answers 409.
        """
        if _media_type(request) != JSON_TYPE:
            raise InputError(415, f"expected Content-Type {JSON_TYPE}, got {request.headers.get('content-type')!r}")
        labels = reader.read(await _read_body(request, service.settings.max_body_bytes))
        if len(labels) > service.settings.max_rows:
            raise InputError(413, f"{len(labels)} labels exceed the limit of {service.settings.max_rows} per request")
        wrong = check_labels(labels, service.bundle.task, service.bundle.classes)
        if wrong:
            problems = [Problem(row=position, field="actual", message=text, type="label") for position, text in wrong]
            raise InputError(422, f"{len(wrong)} label(s) are not a label of this model", problems)
        try:
            receipt = await run_in_threadpool(service.record_labels, labels)
        except LabelConflict as conflict:
            problems = [
                Problem(
                    row=position,
                    field="actual",
                    message=f"{label.describe()} is already labelled {json.dumps(stored)}, "
                    f"got {json.dumps(label.actual)}",
                    type="label_conflict",
                )
                for position, label, stored in conflict.conflicts
            ]
            raise InputError(409, str(conflict), problems) from None
        return json_response(receipt.as_json())

    return router


operations = APIRouter()


@operations.get("/health", summary="The process is alive")
@operations.get("/ping", summary="The process is alive (MLflow's name for /health: its client polls it)")
async def health() -> dict[str, str]:
    """Alive means the bundle is loaded: the service refuses to start without it."""
    return {"status": "alive"}


@operations.get(
    "/version",
    summary="The version of this service's software, as text (like MLflow's /version; the model's is in /metadata)",
    response_class=PlainTextResponse,
)
async def version() -> str:
    return SERVICE_VERSION


@operations.get(
    "/ready",
    summary="The model is loaded and its files still match the manifest",
    responses={503: {"model": ErrorBody}},
)
def ready(service: Served) -> Response:
    try:
        current = verify_bundle(service.bundle_dir)
    except LifecycleError as error:
        return error_response(503, ErrorBody(error=str(error)))
    if current != service.digests:
        return error_response(503, ErrorBody(error=f"bundle {service.bundle_dir} changed on disk since it was loaded"))
    return json_response({"status": "ready", "model_version": service.version})


@operations.get("/metadata", summary="Model version, task and classes, lineage, params, test metrics and input schema")
async def metadata(service: Served) -> dict[str, Any]:
    return service.metadata()


@operations.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(service: Served) -> Response:
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)
