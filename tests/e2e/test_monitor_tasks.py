"""The monitor on a multiclass and a regression model, end to end: the bundle's test split
served by the real service on 127.0.0.1, each row's real outcome posted to /feedback, then
`python -m lifecycle monitor` on the span. Live traffic that is the test split, labelled with
its own outcomes, must give back the test metrics the bundle was packaged with: the log, the
labels, the join and the task's metrics all agree with the evaluate stage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from lifecycle.__main__ import main
from lifecycle.monitoring.outcome import Exit
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import now
from tests.support.serving import ServerProcess, TaskBundle

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_the_test_split_replayed_with_its_outcomes_gives_back_the_test_metrics(
    task: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    served: TaskBundle = request.getfixturevalue(f"{task}_bundle")
    bundle = load_bundle(served.path)
    # the outcomes as the split holds them: the class label (text) or the value
    actual = pd.read_parquet(served.path.parents[1] / "data/interim/test.parquet")[bundle.metadata.target].tolist()
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"

    since = now()
    # params.yaml declares the flights' labels key; these bundles take labels by request id
    with (
        ServerProcess(served.path, url, extra=["--labels-key", ""]) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        answer = client.post("/predict", json=served.rows)
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        labels = [{"request_id": request_id, "row_index": i, "actual": value} for i, value in enumerate(actual)]
        stored = client.post("/feedback", json=labels)
        assert stored.status_code == 200, stored.text
        assert stored.json() == {"stored": len(labels), "unchanged": 0, "unmatched": 0}
        server.stop_gracefully()
    until = now()

    output, report = tmp_path / "monitor.json", tmp_path / "report"
    window = ["--since", since.isoformat(), "--until", until.isoformat(), "--bundle", str(served.path)]
    code = main(["monitor", *window, "--log-url", url, "--output", str(output), "--report-dir", str(report)])
    summary = json.loads(output.read_text())
    assert code == summary["exit_code"] in (Exit.FINE, Exit.ALERT)

    performance = summary["performance"]
    assert performance["predictions"] == performance["labelled"] == len(served.rows)
    assert performance["metric"] == bundle.task.main_metric(None, "monitor.metric")
    test_metrics = bundle.metadata.metrics.test
    assert performance["headline"] and all(
        value == pytest.approx(test_metrics[name], abs=1e-6) for name, value in performance["headline"].items()
    )
    assert performance["overall"]["value"] == pytest.approx(test_metrics[performance["metric"]], abs=1e-6)
    assert performance["test"] == test_metrics[performance["metric"]]
    # fewer rows than monitor.alerts.min_labelled_rows: reported, never alarmed
    assert any(note.startswith("too few labelled rows to judge performance") for note in summary["notes"])
    assert not any(alert.startswith(("live", "slice")) for alert in summary["alerts"])
    assert summary["drift"]["counted"] > 0 and summary["prediction_drift"]["column"] == "model score"
    assert (report / "index.html").is_file() and (report / "score.png").is_file()
