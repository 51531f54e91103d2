"""A real `python -m lifecycle serve` process on 127.0.0.1: load, SIGTERM, tampering, PostgreSQL,
impossible and unseen values, access log, MLflow's /ping and /version, `--host`."""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import read_prediction_log
from tests.support.postgres import drop_table, postgres_url
from tests.support.project import ROOT
from tests.support.serving import ServerProcess

CLIENTS = 32
REQUESTS_PER_CLIENT = 12


async def _client(
    url: str, rows: list[dict], worker: int, requests: int | None, answers: list[tuple[int, str, int]] | None = None
) -> tuple[list[tuple[int, str, int]], Exception | None]:
    """Send `requests` requests (or until the server goes away when None).

    Returns (status, request id, rows) per answer, appended to `answers` as they come (so a
    caller can watch the progress), and the transport error that ended an open-ended client
    (the server, shutting down, refused or closed its connection).
    """
    answers = [] if answers is None else answers
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        n = 0
        while requests is None or n < requests:
            size = 1 + (worker + n) % 5
            batch = [rows[(worker * 7 + n + i) % len(rows)] for i in range(size)]
            try:
                if n % 3 == 2:
                    response = await client.post("/invocations", json={"dataframe_records": batch})
                else:
                    response = await client.post("/predict", json=batch if size > 1 else batch[0])
            except httpx.TransportError as error:
                if requests is not None:
                    raise
                return answers, error
            answers.append((response.status_code, response.headers.get("x-request-id", ""), size))
            n += 1
    return answers, None


def test_many_concurrent_clients_all_answered_and_logged_exactly(
    bundle_dir: Path, tmp_path: Path, known_rows: list[dict]
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    with ServerProcess(bundle_dir, url) as server:

        async def load() -> list[tuple[int, str, int]]:
            results = await asyncio.gather(
                *(_client(server.url, known_rows, w, REQUESTS_PER_CLIENT) for w in range(CLIENTS))
            )
            return [answer for answers, _ in results for answer in answers]

        answers = asyncio.run(load())
        bad = httpx.post(f"{server.url}/predict", json={"unknown": 1})  # refused: not logged
        assert bad.status_code == 422
        server.stop_gracefully()
    assert len(answers) == CLIENTS * REQUESTS_PER_CLIENT
    assert {status for status, _, _ in answers} == {200}
    log = read_prediction_log(url)
    assert len(log) == sum(rows for _, _, rows in answers)
    assert log.groupby("request_id").size().to_dict() == {rid: rows for _, rid, rows in answers}


def test_sigterm_during_load_finishes_in_flight_requests_and_loses_nothing(
    bundle_dir: Path, tmp_path: Path, known_rows: list[dict]
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    server = ServerProcess(bundle_dir, url)
    server.wait_ready()

    async def load_then_terminate() -> list[tuple[list[tuple[int, str, int]], Exception | None]]:
        progress: list[list[tuple[int, str, int]]] = [[] for _ in range(16)]
        clients = [asyncio.create_task(_client(server.url, known_rows, w, None, progress[w])) for w in range(16)]
        deadline = time.monotonic() + 60
        while sum(map(len, progress)) < 64 and time.monotonic() < deadline:  # under load, however slow
            await asyncio.sleep(0.05)
        server.process.terminate()  # SIGTERM while the clients are sending
        return await asyncio.gather(*clients)

    results = asyncio.run(load_then_terminate())
    server.stop_gracefully()
    assert all(error is not None for _, error in results), "every client ran until the server went away"
    answered = [answer for answers, _ in results for answer in answers]
    assert len(answered) >= 64, "requests were answered before SIGTERM"
    assert {status for status, _, _ in answered} == {200}
    # Every answered request is logged, and nothing the server scored went unanswered.
    log = read_prediction_log(url)
    assert log.groupby("request_id").size().to_dict() == {rid: rows for _, rid, rows in answered}


def test_tampered_bundle_refuses_to_start_naming_the_file(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "package"
    shutil.copytree(bundle_dir, copy)
    pickle = copy / "pipeline.joblib"
    data = bytearray(pickle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pickle.write_bytes(bytes(data))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lifecycle",
            "serve",
            "--bundle",
            str(copy),
            "--log-url",
            f"sqlite:///{tmp_path / 'l.sqlite'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"bundle file {pickle} does not match its SHA-256 in the manifest: refusing to load it" in done.stderr


def test_server_logs_to_postgresql(bundle_dir: Path, known_rows: list[dict]) -> None:
    url = postgres_url()
    table = f"predictions_test_{uuid.uuid4().hex[:8]}"
    server = ServerProcess(bundle_dir, url, extra=["--log-table", table])
    try:
        with server:
            ids = [httpx.post(f"{server.url}/predict", json=known_rows[:3]).json()["request_id"] for _ in range(10)]
            server.stop_gracefully()
        log = read_prediction_log(url, table)
        assert len(log) == 30 and set(log["request_id"]) == set(ids)
    finally:
        drop_table(url, table)


def test_impossible_values_are_refused_and_unseen_ones_flagged(
    bundle_dir: Path, tmp_path: Path, known_rows: list[dict]
) -> None:
    """The declared domains and whole numbers refuse (422 naming row, field and range); a
    value merely beyond the training range (the test months, by the time split) is scored,
    flagged in the answer and logged; every request gets one access log line."""
    row = next(r for r in known_rows if r["month"] == 11)  # the first test rows are October's last hours
    schema = load_bundle(bundle_dir).schema
    seen = {c["name"]: (c["min"], c["max"]) for c in schema["columns"] if c["kind"] == "numeric"}
    beyond = [n for n, (low, high) in seen.items() if row[n] is not None and not low <= row[n] <= high]
    impossible = [("month", 13), ("hour", 25), ("minute", 99), ("minute", 30.5), ("distance", -5)]
    with ServerProcess(bundle_dir, f"sqlite:///{tmp_path / 'log.sqlite'}") as server:
        refused = httpx.post(f"{server.url}/predict", json=[{**row, name: value} for name, value in impossible])
        scored = httpx.post(f"{server.url}/predict", json=row)
        output = server.stop_gracefully()
    assert refused.status_code == 422
    assert [(p["row"], p["field"], p["message"]) for p in refused.json()["problems"]] == [
        (0, "month", "expected a whole number from 1 to 12, got 13"),
        (1, "hour", "expected a whole number from 0 to 23, got 25"),
        (2, "minute", "expected a whole number from 0 to 59, got 99"),
        (3, "minute", "expected a whole number from 0 to 59 (every training value was one), got 30.5"),
        (4, "distance", "expected a whole number of at least 0, got -5"),
    ]
    assert scored.status_code == 200
    assert "month" in beyond  # after the split's cutoff
    [answer] = scored.json()["predictions"]
    assert answer["beyond_training_range"] == beyond and 0 <= answer["probability"] <= 1
    request_id = scored.headers["x-request-id"]
    flagged = f"request {request_id}: values beyond the training range (scored, flagged): row 0: {', '.join(beyond)}"
    assert flagged in output
    for response in (refused, scored):
        line = f"POST /predict {response.status_code} "
        [access] = [text for text in output.splitlines() if f"request_id={response.headers['x-request-id']}" in text]
        assert line in access and re.search(r" \d+\.\d\d ms request_id=[0-9a-f]{32}$", access), access


def test_mlflow_ping_and_version_on_the_host_given(bundle_dir: Path, tmp_path: Path) -> None:
    """`--host` chooses the address (another loopback address here: nothing answers on
    127.0.0.1), and the two requests MLflow's ScoringServerClient sends before scoring
    (`wait_server_ready` polls GET /ping, `get_version` reads GET /version's text) work."""
    with ServerProcess(bundle_dir, f"sqlite:///{tmp_path / 'log.sqlite'}", host="127.0.0.2") as server:
        assert server.url.startswith("http://127.0.0.2:")
        ping = httpx.get(f"{server.url}/ping")
        version = httpx.get(f"{server.url}/version")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{server.port}/ping")
        server.stop_gracefully()
    assert ping.status_code == 200 and ping.json() == {"status": "alive"}
    assert version.status_code == 200 and version.headers["content-type"].startswith("text/plain")
    assert version.text == importlib.metadata.version("lifecycle")


def test_docs_load_only_files_the_server_serves(bundle_dir: Path, tmp_path: Path) -> None:
    """/docs and /redoc reference no other host (no CDN: they work offline), and every
    script, style sheet and icon they reference answers 200 from the server itself."""
    with ServerProcess(bundle_dir, f"sqlite:///{tmp_path / 'log.sqlite'}") as server:
        pages = {path: httpx.get(f"{server.url}{path}") for path in ("/docs", "/redoc")}
        referenced = {
            url
            for page in pages.values()
            for url in re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
        }
        assets = {url: httpx.get(f"{server.url}{url}") for url in referenced if url.startswith("/")}
        server.stop_gracefully()
    assert {path: page.status_code for path, page in pages.items()} == {"/docs": 200, "/redoc": 200}
    assert not [path for path, page in pages.items() if "://" in page.text], "a page names another host"
    assert referenced == set(assets), f"references to other hosts: {referenced - set(assets)}"
    kinds = {url: response.headers["content-type"].split(";")[0] for url, response in assets.items()}
    assert all(response.status_code == 200 for response in assets.values()), kinds
    assert {url for url, kind in kinds.items() if kind.endswith("javascript")} == {
        "/docs-static/swagger-ui-bundle.js",
        "/docs-static/redoc.standalone.js",
    }
    assert kinds["/docs-static/swagger-ui.css"] == "text/css" and kinds["/openapi.json"] == "application/json"
    assert "SwaggerUIBundle" in assets["/docs-static/swagger-ui-bundle.js"].text
