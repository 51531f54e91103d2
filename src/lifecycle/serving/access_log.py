"""One access log line per HTTP request, and the request id that ties it to everything else.

Every request gets an id here, before any route runs: the answer carries it in the
`X-Request-ID` header (4xx and 404 answers too), /predict's body names it, the prediction
log files each scored row under it, and the access line ends with it, so one grep finds a
request's line, its logged rows and what the client saw. Uvicorn's own access log is off
(it knows neither the id nor the latency); this line goes through `logging` like every
other message of the service.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-request-id"


class AccessLogMiddleware:
    """Assigns each HTTP request an id (`request.state.request_id`) and logs
    `METHOD /path status latency ms request_id=...` once the answer is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            latency_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %d %.2f ms request_id=%s", scope["method"], scope["path"], status, latency_ms, request_id
            )
