"""A real HTTP server on 127.0.0.1 for the source tests: quiet, counting requests per path.

The HTTP API sources are tested against servers built on these pieces (the remote source
tests, the own-data and bad-data end-to-end tests); each subclass only says what a path
answers.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at `host` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class CountingServer(ThreadingHTTPServer):
    """A threaded server on a free local port that counts the requests to each path."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)  # the OS picks the port: no race with other tests
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hit(self, path: str) -> int:
        """Count one request to `path`; return how many it has had (this one included)."""
        with self.lock:
            self.hits[path] += 1
            return self.hits[path]


class QuietHandler(BaseHTTPRequestHandler):
    """Writes whole responses with a length; no access log (the tests count hits instead)."""

    server: CountingServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests count hits instead of reading an access log."""

    def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, value: object, status: int = 200) -> None:
        self.send(status, json.dumps(value).encode())


Server = TypeVar("Server", bound=ThreadingHTTPServer)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Serve in a background thread; shut down and close on exit."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
