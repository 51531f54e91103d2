"""Shadow mode on a real server: the first run's model answers, the second run's scores every
request off the path; both are logged under their own versions for the same rows, the
shadow's answers are its own bundle's, and the monitor judges the shadow on live traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from lifecycle.__main__ import main
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import now, read_prediction_log
from tests.support.pipeline import FirstRun, SecondRun
from tests.support.serving import ServerProcess

pytestmark = pytest.mark.e2e


def test_the_shadow_scores_every_request_beside_the_champion_and_is_monitored(
    pipeline_run: FirstRun, second_run: SecondRun, known_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    champion_dir, shadow_dir = pipeline_run.repo.path / "models/package", second_run.repo.path / "models/package"
    champion, shadow = load_bundle(champion_dir), load_bundle(shadow_dir)
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    rows = known_rows[:60]
    since = now()
    with ServerProcess(champion_dir, url, ["--shadow", str(shadow_dir)]) as server:
        metadata = httpx.get(f"{server.url}/metadata").json()
        answers = [httpx.post(f"{server.url}/predict", json=rows[i : i + 20]).json() for i in range(0, 60, 20)]
        server.stop_gracefully()
    until = now()
    assert metadata["shadow"] == {
        "model_version": shadow.metadata.model_version,
        "bundle": str(shadow_dir),
        "dropped_rows": 0,
    }
    assert {a["model_version"] for a in answers} == {champion.metadata.model_version}

    log = read_prediction_log(url)
    mine = log[log["model_version"] == champion.metadata.model_version]
    theirs = log[log["model_version"] == shadow.metadata.model_version]
    assert len(mine) == len(theirs) == 60 and set(theirs["endpoint"]) == {"/predict (shadow)"}
    keys = ["request_id", "row_index"]
    assert sorted(map(tuple, mine[keys].to_numpy())) == sorted(map(tuple, theirs[keys].to_numpy()))
    expected = shadow.predict(pd.DataFrame(rows)[shadow.input_columns])["probability"].to_numpy()
    ordered = theirs.set_index(keys).loc[[(a["request_id"], i) for a in answers for i in range(20)]]
    assert ordered["probability"].to_numpy() == pytest.approx(expected, abs=1e-12)

    # late labels by request id reach both models' rows: the monitor judges the shadow
    with ServerProcess(champion_dir, url) as server:
        labels = [
            {"request_id": a["request_id"], "row_index": i, "actual": champion.classes[i % 2]}
            for a in answers
            for i in range(20)
        ]
        assert httpx.post(f"{server.url}/feedback", json=labels).json()["stored"] == 60
        server.stop_gracefully()
    output = tmp_path / "monitor.json"
    window = ["--since", since.isoformat(), "--until", until.isoformat(), "--bundle", str(shadow_dir)]
    main(["monitor", *window, "--log-url", url, "--output", str(output), "--report-dir", str(tmp_path / "report")])
    judged = json.loads(output.read_text())
    assert judged["window"]["model_version"] == shadow.metadata.model_version
    assert judged["window"]["other_versions"] == {champion.metadata.model_version: 60}
    assert judged["performance"]["labelled"] == 60
