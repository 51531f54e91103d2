"""The real service in a subprocess, flights sent to it, and the monitor on what it logged.

Shared by the benchmarks that drive the service as production would (bench/replay.py,
bench/loop.py): each starts `python -m lifecycle serve`, sends flights to POST /predict in
100-row requests and their real outcomes to POST /feedback, then runs `python -m lifecycle
monitor` on the wall-clock span they were sent in.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from lifecycle.packaging.bundle import Bundle

BATCH_ROWS = 100
LABEL_BATCH = 1000
# What the table calls each alert, by how its sentence starts
ALERT_NAMES = (
    ("unusual drift", "unusual drift"),
    ("dataset drift", "dataset drift"),
    ("column", "column drift"),
    ("prediction drift", "prediction drift"),
    ("live", "main metric"),
    ("slice", "slice"),
)


class Server:
    """`python -m lifecycle serve` on 127.0.0.1:`port`, logging to `log_url`; `options` are
    more command-line options, `cwd` and `env` where and with what it runs."""

    def __init__(
        self,
        log_url: str,
        port: int,
        options: tuple[str, ...] = (),
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        command = [sys.executable, "-m", "lifecycle", "serve", "--port", str(port), "--log-url", log_url, *options]
        environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        self.process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        """Stop it; it drains the log's queue first."""
        self.process.terminate()
        self.process.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepted(bundle: Bundle, flights: pd.DataFrame) -> np.ndarray:
    """Which flights the bundle's schema accepts (the service would refuse the rest with 422)."""
    return bundle.predict(flights[bundle.input_columns].reset_index(drop=True))["error"].isna().to_numpy()


def send(client: httpx.Client, bundle: Bundle, flights: pd.DataFrame) -> None:
    """Predict every flight, then send its real outcome as feedback."""
    rows = json.loads(flights[bundle.input_columns].to_json(orient="records", date_format="iso"))
    outcomes = [bundle.classes[int(v)] for v in flights[bundle.metadata.target]]
    labels = []
    for start in range(0, len(rows), BATCH_ROWS):
        answer = client.post("/predict", json=rows[start : start + BATCH_ROWS])
        answer.raise_for_status()
        request_id = answer.json()["request_id"]
        batch = outcomes[start : start + BATCH_ROWS]
        labels += [{"request_id": request_id, "row_index": i, "actual": actual} for i, actual in enumerate(batch)]
    for start in range(0, len(labels), LABEL_BATCH):
        stored = client.post("/feedback", json=labels[start : start + LABEL_BATCH])
        stored.raise_for_status()


def monitor(
    span: tuple[datetime, datetime],
    log_url: str,
    folder: Path,
    reference: tuple[datetime, datetime] | None = None,
    options: tuple[str, ...] = (),
    cwd: Path | None = None,
) -> tuple[int, dict[str, Any]]:
    """Run the monitor command on `span`, against training or against the `reference` span;
    returns its exit code and its JSON."""
    output = folder.absolute() / "monitor.json"
    command = [sys.executable, "-m", "lifecycle", "monitor", "--since", span[0].isoformat()]
    command += ["--until", span[1].isoformat(), "--log-url", log_url, "--output", str(output)]
    command += ["--report-dir", str(folder.absolute() / "report"), *options]
    if reference is not None:
        command += ["--reference-since", reference[0].isoformat(), "--reference-until", reference[1].isoformat()]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if not output.exists():
        raise RuntimeError(f"the monitor wrote nothing (exit {done.returncode}): {done.stderr[-500:]}")
    return done.returncode, json.loads(output.read_text())


def alert_names(summary: dict[str, Any] | None) -> str:
    """The monitor's alerts by their short names, e.g. "dataset drift, main metric"."""
    if summary is None:
        return ""
    return ", ".join(next(n for p, n in ALERT_NAMES if a.startswith(p)) for a in summary["alerts"]) or "none"
