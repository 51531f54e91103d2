"""`serve.workers`: two worker processes behind one port on 127.0.0.1, each with its own
prediction log writer, logging every row exactly once in SQLite (WAL) and PostgreSQL,
flushing every worker's queue on SIGTERM, and adding up their Prometheus metrics; keep-alive
connections opened at once reach both workers (a socket of its own each, SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import pickle
import re
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

from lifecycle.monitoring.keyed_labels import keyed_table_name
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import read_prediction_log
from lifecycle.serving.workers import PortHolder, bind_port
from tests.support.postgres import drop_table, postgres_url
from tests.support.project import ROOT
from tests.support.serving import ServerProcess, TaskBundle, metric_value

CLIENTS = 16
REQUESTS_PER_CLIENT = 10
# Keep-alive connections, hashed by the kernel over the two workers' sockets: all of them
# land on the one left running with probability 2**-16.
CONNECTIONS = 16
ANSWERED_BY = r"\[(\d+)\] lifecycle\.serving\.access_log: POST /predict 200"
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def log_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, table) of an empty prediction log in SQLite or in the test PostgreSQL database."""
    table = f"predictions_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.sqlite'}", table
        return
    url = postgres_url()
    try:
        yield url, table
    finally:
        for name in (table, labels_of(table), keyed_table_name(labels_of(table))):
            drop_table(url, name)


def labels_of(table: str) -> str:
    """The labels table beside a test's own log table (no other test shares either)."""
    return f"{table}_labels"


def held_until_shutdown(folder: Path, table: str) -> Path:
    """A project folder whose params.yaml makes each worker write its log only at shutdown
    (no batch fills up, no flush interval ends), so SIGTERM must flush every worker's queue."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    log = {"table": table, "labels_table": labels_of(table), "labels_key": [], "batch_rows": 1_000_000}
    params["serve"]["log"].update(log, flush_seconds=3600)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


async def _client(url: str, rows: list[dict], worker: int) -> list[tuple[str, int]]:
    """(request id, rows) per answer; a new connection per request, so the kernel hands the
    requests to both workers."""
    answers = []
    for n in range(REQUESTS_PER_CLIENT):
        size = 1 + (worker + n) % 4
        batch = [rows[(worker * 7 + n + i) % len(rows)] for i in range(size)]
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            response = await client.post("/predict", json=batch if size > 1 else batch[0])
        assert response.status_code == 200, response.text
        answers.append((response.headers["x-request-id"], size))
    return answers


def test_two_workers_log_every_row_exactly_once_and_flush_on_sigterm(
    multiclass_bundle: TaskBundle, log_store: tuple[str, str], tmp_path: Path
) -> None:
    url, table = log_store
    project = held_until_shutdown(tmp_path, table)
    with ServerProcess(multiclass_bundle.path, url, extra=["--workers", "2"], cwd=project) as server:

        async def load() -> list[tuple[str, int]]:
            clients = (_client(server.url, multiclass_bundle.rows, w) for w in range(CLIENTS))
            return [answer for answers in await asyncio.gather(*clients) for answer in answers]

        answers = asyncio.run(load())
        expositions = [httpx.get(f"{server.url}/metrics").text for _ in range(8)]  # whichever worker answers
        held = len(read_prediction_log(url, table))
        output = server.stop_gracefully()
    rows = sum(size for _, size in answers)
    assert len(answers) == CLIENTS * REQUESTS_PER_CLIENT
    assert held == 0, "nothing is written before shutdown with these settings"
    log = read_prediction_log(url, table)
    assert len(log) == rows
    assert log.groupby("request_id").size().to_dict() == dict(answers)
    workers = set(re.findall(ANSWERED_BY, output))
    assert len(workers) == 2, "both workers answered requests"
    flushed = set(re.findall(r"\[(\d+)\] lifecycle\.serving\.app: prediction log flushed and closed", output))
    assert flushed == workers
    version = load_bundle(multiclass_bundle.path).metadata.model_version
    totals = [metric_value(text, "lifecycle_rows_predicted_total", model_version=version) for text in expositions]
    assert totals == [rows] * len(expositions)
    assert all(metric_value(text, "lifecycle_model_info", model_version=version) == 1 for text in expositions)


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (Linux's /proc/net/tcp, state 0A)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


@linux_only
def test_the_kernel_hands_connections_to_both_workers_whichever_is_awake(
    multiclass_bundle: TaskBundle, tmp_path: Path
) -> None:
    """Keep-alive connections opened while one worker cannot run (stopped here; busy, or not
    yet woken, in a burst of connections) still reach it: the kernel picks each connection's
    worker as it arrives. With one socket shared by the workers, the worker awake accepted
    all sixteen, and the other then had nothing to serve for as long as they stayed open."""
    log = f"sqlite:///{tmp_path / 'log.sqlite'}"
    with ServerProcess(multiclass_bundle.path, log, extra=["--workers", "2", "--labels-key", ""]) as server:
        deadline = time.monotonic() + 60
        while listening_sockets(server.port) < 2:  # the second worker may still be starting
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert listening_sockets(server.port) == 2, "one socket per worker, none for the supervisor"
        workers = set(re.findall(r"\[(\d+)\] uvicorn\.error: Application startup complete", server.output()))
        assert len(workers) == 2, server.output()
        stopped = int(min(workers))
        body = json.dumps(multiclass_bundle.rows[0])
        connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=60) for _ in range(CONNECTIONS)]
        os.kill(stopped, signal.SIGSTOP)  # well within the supervisor's 5 s health check
        try:
            for connection in connections:
                connection.connect()
                connection.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
            time.sleep(0.5)  # the running worker accepts every connection it can
        finally:
            os.kill(stopped, signal.SIGCONT)
        for connection in connections:
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
            connection.close()
        output = server.stop_gracefully()
    answered_by = re.findall(ANSWERED_BY, output)
    assert len(answered_by) == CONNECTIONS
    assert set(answered_by) == workers, "each worker answered the connections the kernel handed it"


@linux_only
def test_the_supervisor_holds_the_port_without_listening_and_refuses_a_busy_one() -> None:
    config = uvicorn.Config("lifecycle.serving.app:worker_app", host="127.0.0.1", port=0, workers=2)
    holder = bind_port(config)
    try:
        assert isinstance(holder, PortHolder)
        address = holder.getsockname()
        with pytest.raises(ConnectionRefusedError):  # bound, not listening: no connection
            socket.create_connection(address, timeout=5).close()
        # what a worker gets for it: a socket of its own on the same address, which listens
        with pickle.loads(pickle.dumps(holder)) as own:
            assert own.getsockname() == address
            own.listen()
            socket.create_connection(address, timeout=5).close()
        # a port another server listens on, even with SO_REUSEPORT, is refused
        with pickle.loads(pickle.dumps(holder)) as other_server:
            other_server.listen()
            busy = uvicorn.Config("lifecycle.serving.app:worker_app", host="127.0.0.1", port=address[1], workers=2)
            holder.close()
            with pytest.raises(SystemExit):
                bind_port(busy)
    finally:
        holder.close()
