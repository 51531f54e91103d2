"""Rejected requests: a real service on 127.0.0.1 refuses bad prediction requests, logs each
beside the predictions, and the monitor counts them per window and status; a database
written before they were recorded is monitored and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from lifecycle.config import load_params
from lifecycle.monitoring.monitor import run_monitor
from lifecycle.monitoring.report import report_html, summary_markdown
from tests.support.serving import ServerProcess

pytestmark = pytest.mark.e2e


def send(url: str, rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Good and bad prediction requests, and a bad label (not a prediction request); the
    statuses answered, by what was sent."""
    answered: dict[str, list[int]] = {}
    with httpx.Client(base_url=url, timeout=30) as client:

        def post(kind: str, path: str, **request: Any) -> None:
            answered.setdefault(kind, []).append(client.post(path, **request).status_code)

        for start in range(0, 30, 10):
            post("good", "/predict", json=rows[start : start + 10])
        post("good", "/invocations", json={"dataframe_records": rows[:3]})
        post("bad", "/predict", json=[{**rows[0], "month": 13}])
        post("bad", "/predict", json=[{**rows[0], "colour": "red"}])
        post("bad", "/invocations", json={"dataframe_records": [{"colour": "red"}]})
        post("bad", "/predict", json=rows[:1] * 1001)  # more than serve.max_rows
        post("bad", "/predict", content=b"{not json", headers={"Content-Type": "application/json"})
        post("bad", "/predict", content=b"a,b", headers={"Content-Type": "text/csv"})
        post("label", "/feedback", json=[{"request_id": "0" * 32, "row_index": 0, "actual": "maybe"}])
    return answered


def test_rejected_requests_are_counted_per_window_and_status(
    bundle_dir: Path, known_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    since = datetime.now(UTC) - timedelta(seconds=1)
    with ServerProcess(bundle_dir, url) as server:
        answered = send(server.url, known_rows)
        server.stop_gracefully()  # the writer flushes everything queued
    until = datetime.now(UTC) + timedelta(seconds=1)
    assert answered == {"good": [200] * 4, "bad": [422, 422, 422, 413, 400, 415], "label": [422]}
    params = load_params()
    log_settings = params.serve.log.model_copy(update={"url": url})

    judged = run_monitor(bundle_dir, log_settings, since, until, params.monitor)
    counted = judged.as_json()["rejected_requests"]
    shown = "Rejected requests: 6 of 10 prediction requests (60.00%); by status: 400: 1, 413: 1, 415: 1, 422: 3."
    assert shown in summary_markdown(judged) and shown in report_html(judged, [])
    expected = {"requests": 10, "rejected": 6, "share": 0.6, "by_status": {"400": 1, "413": 1, "415": 1, "422": 3}}
    assert {k: counted[k] for k in expected} == expected and counted["recorded"]
    assert [{k: w[k] for k in expected} for w in counted["windows"]] == [expected]
    with create_engine(url).connect() as connection:
        stored = connection.execute(text("SELECT endpoint, status, reason FROM rejected_requests ORDER BY id")).all()
    assert stored[0] == ("/predict", 422, "invalid input: row 0 month: expected a whole number from 1 to 12, got 13")
    assert [row.endpoint for row in stored] == ["/predict", "/predict", "/invocations", *["/predict"] * 3]

    with create_engine(url).begin() as connection:  # a database of a service from before they were recorded
        connection.execute(text("DROP TABLE rejected_requests"))
    result = run_monitor(bundle_dir, log_settings, since, until, params.monitor)
    assert result.as_json()["rejected_requests"] == {"recorded": False}
    assert "Rejected requests: not recorded" in summary_markdown(result)
