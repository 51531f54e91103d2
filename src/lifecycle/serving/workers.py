"""Several worker processes on one port (`serve.workers`): uvicorn's own supervisor.

Why uvicorn's supervisor rather than gunicorn with uvicorn workers: it is the server the
service already runs, so no new dependency and the same settings; it restarts a worker that
dies, and on SIGTERM or SIGINT sends SIGTERM to each worker and waits for it, so every
worker finishes its in-flight requests and flushes its prediction log exactly as a single
server does.

One port, one listening socket per worker (SO_REUSEPORT). uvicorn binds the port once and
hands that socket to every worker, but asyncio accepts up to `backlog` connections each
time the socket wakes it: when a few keep-alive clients connect at once, the first worker
awake takes them all and the others sit idle (two workers, 4 clients: one worker spent
86-100% of the CPU, and the service answered at one core's rate). Here the supervisor binds
the port with SO_REUSEPORT and never listens on it: it only holds the port, and a socket
that does not listen gets no connection. Each worker, as it starts, binds a socket of its
own to the same address and listens on it, and the kernel hashes every new connection to
one of the listening sockets. The hash is by address and port, not by load: two
connections land on one worker half the time, sixteen almost never. What it costs: a
worker that stops (a SIGHUP restart, a crash) resets the connections the kernel had queued
to its socket and it had not accepted yet, unless `net.ipv4.tcp_migrate_req` is 1. Off
Linux, or where SO_REUSEPORT is missing, the workers share uvicorn's one socket.

Workers are spawned, not forked: each imports the app afresh and builds a whole `Service`
(bundle, validator, scorer, metrics, and a prediction log with its own writer thread)
from what this process hands down in the environment. Before the workers start, the
service is loaded once here, so a bad bundle, log URL or labels key stops the command
before any port is bound, and the log's tables are created once, not raced for by
every worker.

Prometheus: each worker's counters and histograms live in files of a fresh
`PROMETHEUS_MULTIPROC_DIR` created here and removed on exit; /metrics, whichever worker
answers it, adds up the files of every worker (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from lifecycle.config import ServeSettings

logger = logging.getLogger(__name__)

# What the parent hands down to every worker: the bundle folder and the serve settings (JSON).
WORKER_SETTINGS = "LIFECYCLE_SERVE_WORKER"
PROMETHEUS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
WORKER_APP = "lifecycle.serving.app:worker_app"


def hand_down(bundle_dir: Path, settings: ServeSettings) -> str:
    """The environment value a worker reads back with `handed_down`."""
    return json.dumps({"bundle": str(bundle_dir.resolve()), "settings": settings.model_dump(mode="json")})


def handed_down() -> tuple[Path, ServeSettings]:
    """The bundle folder and settings the supervisor handed to this worker."""
    spec = json.loads(os.environ[WORKER_SETTINGS])
    return Path(spec["bundle"]), ServeSettings.model_validate(spec["settings"])


def _reuse_port(sock: socket.socket) -> socket.socket:
    """`sock`, allowed to share its address with the supervisor's and the other workers'
    sockets; AttributeError or OSError where the system has no SO_REUSEPORT."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def worker_socket(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A worker's own socket on the supervisor's address, for its server to listen on.

    Called in the spawned worker as it unpickles the socket the supervisor handed down
    (`PortHolder.__reduce__`), before uvicorn's `Server.startup` listens on what it got. A
    bind that fails exits with uvicorn's startup-failure code, so that the supervisor stops
    instead of restarting the worker forever."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        _reuse_port(sock).bind(address)
    except (AttributeError, OSError) as error:
        sock.close()
        logger.error("worker [%d] cannot bind %s: %s", os.getpid(), address, error)
        sys.exit(STARTUP_FAILURE)
    return sock


class PortHolder(socket.socket):
    """The supervisor's socket: bound with SO_REUSEPORT to hold the port, never listened on.

    uvicorn pickles the sockets it hands to each spawned worker; this one arrives not as a
    copy of itself but as a new socket of the worker bound to the same address
    (`worker_socket`), so each worker listens on a socket of its own."""

    def __reduce__(self) -> tuple[Callable[..., socket.socket], tuple[int, tuple[Any, ...]]]:
        return worker_socket, (int(self.family), self.getsockname())


def bind_port(config: uvicorn.Config) -> socket.socket:
    """The socket the supervisor hands to its workers: a `PortHolder` on Linux, else
    uvicorn's own socket, which every worker then accepts from (elsewhere SO_REUSEPORT may
    be missing, or may not spread connections over the sockets).

    uvicorn's `bind_socket` is called first either way: it refuses a port already in use,
    with SO_REUSEPORT or not (another server whose sockets all had SO_REUSEPORT would let
    ours join it), resolves port 0, and logs where the service runs. The port is then taken
    again at once with SO_REUSEPORT."""
    if not sys.platform.startswith("linux"):
        logger.warning("not Linux: the workers share one socket and may not share its connections")
        return config.bind_socket()
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    holder = PortHolder(family, socket.SOCK_STREAM)
    try:
        _reuse_port(holder)
    except (AttributeError, OSError) as error:
        holder.close()
        logger.warning("no SO_REUSEPORT (%s): the workers share one socket and may not share its connections", error)
        return config.bind_socket()
    probe = config.bind_socket()
    address = probe.getsockname()
    probe.close()
    try:
        holder.bind(address)
    except OSError as error:
        holder.close()
        logger.error("cannot bind %s again with SO_REUSEPORT: %s", address, error)
        sys.exit(STARTUP_FAILURE)
    return holder


def run_workers(bundle_dir: Path, settings: ServeSettings, graceful_seconds: float) -> None:
    """Serve with `settings.workers` processes until SIGINT/SIGTERM, then remove the metrics folder."""
    directory = tempfile.mkdtemp(prefix="lifecycle-prometheus-")
    os.environ[PROMETHEUS_DIRECTORY] = directory
    os.environ[WORKER_SETTINGS] = hand_down(bundle_dir, settings)
    logger.info("starting %d workers (Prometheus multiprocess folder %s)", settings.workers, directory)
    config = uvicorn.Config(
        WORKER_APP,
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=graceful_seconds,
    )
    try:
        sock = bind_port(config)
        try:
            with contextlib.suppress(KeyboardInterrupt):  # as `uvicorn.run`
                Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        logger.info("every worker stopped; removed %s", directory)
