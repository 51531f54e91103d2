"""A challenge on live traffic: a real server answers test flights, labels come back through
POST /feedback, `python -m lifecycle holdout` writes the labelled ones as a holdout file, and
`python -m lifecycle challenge --holdout` scores the models on exactly those rows."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from lifecycle.packaging.bundle import load_bundle
from tests.support.pipeline import FirstRun
from tests.support.serving import ServerProcess, json_rows

pytestmark = pytest.mark.e2e

SENT, LABELLED = 600, 500


def lifecycle(*args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "lifecycle", *args], capture_output=True, text=True)
    return done.returncode, done.stderr


def test_labelled_live_predictions_become_the_challenge_holdout(
    pipeline_run: FirstRun, bundle_dir: Path, tmp_path: Path
) -> None:
    bundle = load_bundle(bundle_dir)
    target = bundle.metadata.target
    test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet")
    accepted = bundle.predict(test[bundle.input_columns])["error"].isna().to_numpy()
    flights = test[accepted].head(SENT).reset_index(drop=True)
    rows, outcomes = json_rows(flights[bundle.input_columns]), flights[target].tolist()
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    since = datetime.now(UTC)
    with ServerProcess(bundle_dir, url) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        labels = []
        for start in range(0, SENT, 100):
            answer = client.post("/predict", json=rows[start : start + 100])
            assert answer.status_code == 200
            request_id = answer.json()["request_id"]
            labels += [
                {"request_id": request_id, "row_index": i, "actual": actual}
                for i, actual in enumerate(outcomes[start : start + 100])
            ]
        assert client.post("/feedback", json=labels[:LABELLED]).status_code == 200  # the last 100 stay unlabelled
        server.stop_gracefully()
    until = datetime.now(UTC) + timedelta(seconds=1)
    window = ["--since", since.isoformat(), "--until", until.isoformat(), "--bundle", str(bundle_dir), "--log-url", url]

    output = tmp_path / "live.parquet"
    code, said = lifecycle("holdout", *window, "--output", str(output))
    assert code == 0, said
    holdout = pd.read_parquet(output)
    sent = flights.head(LABELLED)
    assert list(holdout.columns) == [*bundle.input_columns, target] and len(holdout) == LABELLED
    assert holdout[target].tolist() == sent[target].tolist()
    # the inputs as logged are the inputs sent: the bundle answers them identically
    np.testing.assert_array_equal(
        bundle.predict(holdout[bundle.input_columns])["probability"],
        bundle.predict(sent[bundle.input_columns])["probability"],
    )

    challenge = tmp_path / "challenge.json"
    code, said = lifecycle(
        "challenge", "--champion", str(bundle_dir), "--challenger", str(bundle_dir), "--holdout", str(output),
        "--output", str(challenge), "--report-dir", str(tmp_path / "report"),
    )  # fmt: skip
    assert code == 1, said  # a model against itself gains nothing: the flights params ask +0.001
    result = json.loads(challenge.read_text())
    assert result["holdout"]["rows"] == result["holdout"]["scored"] == LABELLED
    assert result["holdout"]["md5"] == hashlib.md5(output.read_bytes()).hexdigest()
    expected = roc_auc_score(sent[target], bundle.predict(sent[bundle.input_columns])["probability"])
    assert result["champion"]["metrics"]["roc_auc"] == pytest.approx(expected, abs=1e-4)


def test_a_window_without_predictions_or_labels_is_one_line(
    bundle_dir: Path, known_rows: list[dict], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    since = datetime.now(UTC)
    with ServerProcess(bundle_dir, url) as server:
        assert httpx.post(f"{server.url}/predict", json=known_rows[:3]).status_code == 200  # never labelled
        server.stop_gracefully()
    output = tmp_path / "live.parquet"
    until = datetime.now(UTC) + timedelta(seconds=1)
    for (start, end), expected in [
        ((since - timedelta(days=1), since), "no prediction of model version"),
        ((since, until), "none of the 3 predictions of model version"),
    ]:
        window = ["--since", start.isoformat(), "--until", end.isoformat(), "--bundle", str(bundle_dir)]
        code, said = lifecycle("holdout", *window, "--log-url", url, "--output", str(output))
        assert code == 1 and expected in said and said.count("\n") == 1, said
        assert not output.exists()
