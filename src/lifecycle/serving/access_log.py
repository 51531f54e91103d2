"""One access log line per HTTP request, and the request id that ties it to everything else.

Every request gets an id here, before any route runs: the answer carries it in the
`X-Request-ID` header (4xx and 404 answers too), /predict's body names it, the prediction
log files each scored row under it, and the access line ends with it, so one grep finds a
request's line, its logged rows and what the client saw. Uvicorn's own access log is off
(it knows neither the id nor the latency); this line goes through `logging` like every
other message of the service.

The same pass feeds the Prometheus request metrics: one wrapper per request measures the
status and the latency once, for the log line and for the counters.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifecycle.serving.prometheus import ServiceMetrics

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-request-id"


class AccessLogMiddleware:
    """Assigns each HTTP request an id (`request.state.request_id`); once the answer is sent,
    counts and times it in `metrics` (4xx from validation and 404s included) and logs
    `METHOD /path status latency ms request_id=...`."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # if the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe_request(scope["path"], scope["method"], status, seconds)
            logger.info(
                "%s %s %d %.2f ms request_id=%s", scope["method"], scope["path"], status, seconds * 1000, request_id
            )
