"""The HTTP service: the packaged model behind FastAPI, strict, observable, every prediction logged.

`create_app` loads the bundle into a `Service` (refusing it if any file's SHA-256 differs
from the manifest), mounts the routes and returns the app; `serve` runs it with uvicorn
on 127.0.0.1. The answer per row follows the bundle's task (`Task.answer`); the OpenAPI
document describes that answer and the row model generated from the bundle's schema.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException

from lifecycle.config import ServeSettings
from lifecycle.logs import configure_logging
from lifecycle.serving.access_log import AccessLogMiddleware
from lifecycle.serving.docs import mount_docs
from lifecycle.serving.errors import InputError
from lifecycle.serving.reload import Reloader, admin
from lifecycle.serving.request_model import ROW_MODEL_NAME
from lifecycle.serving.routes import error_response, feedback_router, operations, prediction_router
from lifecycle.serving.schemas import ErrorBody, Problem
from lifecycle.serving.service import PREDICTION_ENDPOINTS, Service, settle_heap
from lifecycle.serving.workers import handed_down, run_workers

logger = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 30


def _describe(service: Service) -> str:
    settings = service.settings
    return (
        "Predictions of the packaged model for raw rows. Every field of a row is documented "
        f"in the `{ROW_MODEL_NAME}` schema with its type and allowed values. "
        f"{service.bundle.task.answer_description(service.scorer.classes or [])} Unknown categories: "
        f"`{service.policy}`. Numbers outside a field's domain, or fractions where training held only "
        "whole numbers, are refused; numbers merely beyond the training range are scored and listed in "
        f"`beyond_training_range`. Limits: {settings.max_rows} rows, {settings.max_body_bytes} bytes per request."
    )


def _handle_errors(app: FastAPI) -> None:
    """Every error answers with an ErrorBody: client mistakes 4xx, anything else a logged 500.
    A prediction request refused as a client's mistake is logged as a rejected request."""

    @app.exception_handler(InputError)
    async def input_error(request: Request, error: InputError) -> Response:
        endpoint = request.url.path
        if endpoint in PREDICTION_ENDPOINTS:
            service: Service = request.app.state.service
            service.record_rejected(request.state.request_id, endpoint, error.status, error.reason)
        return error_response(error.status, error.body)

    @app.exception_handler(RequestValidationError)
    async def request_error(_: Request, error: RequestValidationError) -> Response:
        problems = [
            Problem(field=".".join(map(str, e["loc"])), message=e["msg"], type=e["type"]) for e in error.errors()
        ]
        return error_response(422, ErrorBody(error="invalid request", problems=problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> Response:
        return error_response(error.status_code, ErrorBody(error=str(error.detail)))

    @app.exception_handler(Exception)
    async def server_error(_: Request, error: Exception) -> Response:
        logger.error("unhandled error", exc_info=error)
        return error_response(500, ErrorBody(error="internal server error (logged)"))


def create_app(bundle_dir: Path, settings: ServeSettings, follow: str | None = None) -> FastAPI:
    """The service for the bundle in `bundle_dir`; raises LifecycleError if it fails verification.
    `follow`: the registry stage a reload asks for again (`serve --stage`)."""
    service = Service.load(bundle_dir, settings)
    logger.info(
        "serving %s model %s from %s (unknown categories: %s, fast path: %s)",
        service.bundle.task.name,
        service.version,
        bundle_dir,
        service.policy,
        "on" if service.scorer.fast else "off",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One process reloads on SIGHUP; with several, uvicorn's supervisor replaces the workers.
        # (Signals reach the main thread only: an app run in another, as tests do, has none.)
        hangup = settings.workers == 1 and threading.current_thread() is threading.main_thread()
        if hangup:
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: asyncio.ensure_future(app.state.reloader.reload())
            )
        settle_heap()
        try:
            yield
        finally:  # after uvicorn has let in-flight requests finish (graceful shutdown, SIGTERM)
            if hangup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            await run_in_threadpool(app.state.service.close)
            logger.info("prediction log flushed and closed")

    app = FastAPI(
        title="lifecycle model service",
        version=service.version,
        description=_describe(service),
        lifespan=lifespan,
        docs_url=None,  # mount_docs serves /docs and /redoc from installed files, not a CDN
        redoc_url=None,
    )
    app.state.service = service
    app.state.reloader = Reloader(app, follow)
    app.add_middleware(AccessLogMiddleware, metrics=service.metrics)
    _handle_errors(app)
    app.include_router(prediction_router(service.bundle.task, settings.max_rows))
    app.include_router(feedback_router(service.feedback))
    app.include_router(operations)
    app.include_router(admin)
    mount_docs(app)

    def openapi() -> dict[str, Any]:
        """FastAPI's document plus the generated row model the request bodies refer to (the
        served one's, read from the app: a closure over the first service would keep its
        bundle alive after every reload)."""
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            document.setdefault("components", {}).setdefault("schemas", {})[ROW_MODEL_NAME] = (
                app.state.service.validator.json_schema()
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def worker_app() -> FastAPI:
    """The app of one worker process (`serve.workers` > 1), from the settings its supervisor
    handed down; its log lines carry its process id."""
    configure_logging(process=True)
    return create_app(*handed_down())


def serve(bundle_dir: Path, settings: ServeSettings, follow: str | None = None) -> None:
    """Run the service until SIGINT/SIGTERM; in-flight requests finish, the log is flushed
    (by every worker, with `serve.workers` > 1). `follow`: the registry stage a reload of a
    single process serves anew (workers reload the folder they were started with)."""
    if settings.workers > 1:
        Service.load(bundle_dir, settings).close()  # refuse a bad bundle or log before binding the port
        run_workers(bundle_dir, settings, GRACEFUL_SHUTDOWN_SECONDS)
        return
    app = create_app(bundle_dir, settings, follow)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
