"""Several worker processes on one port (`serve.workers`): uvicorn's own supervisor.

Why uvicorn's supervisor rather than gunicorn with uvicorn workers: it is the server the
service already runs, so no new dependency and the same settings; it binds the port once
and hands the socket to every worker, restarts a worker that dies, and on SIGTERM or
SIGINT sends SIGTERM to each worker and waits for it, so every worker finishes its
in-flight requests and flushes its prediction log exactly as a single server does.

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

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

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


def run_workers(bundle_dir: Path, settings: ServeSettings, graceful_seconds: float) -> None:
    """Serve with `settings.workers` processes until SIGINT/SIGTERM, then remove the metrics folder."""
    directory = tempfile.mkdtemp(prefix="lifecycle-prometheus-")
    os.environ[PROMETHEUS_DIRECTORY] = directory
    os.environ[WORKER_SETTINGS] = hand_down(bundle_dir, settings)
    logger.info("starting %d workers (Prometheus multiprocess folder %s)", settings.workers, directory)
    try:
        uvicorn.run(
            WORKER_APP,
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=graceful_seconds,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        logger.info("every worker stopped; removed %s", directory)
