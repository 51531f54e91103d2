"""`python -m lifecycle monitor` on a real prediction log: the packaged model's predictions of
the real test flights, logged at their scheduled hour, and their real outcomes as labels."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lifecycle.__main__ import main
from lifecycle.config import MonitorSettings, PredictionLogSettings, load_params
from lifecycle.monitoring.labels import Label, LabelStore
from lifecycle.monitoring.monitor import current_frame, run_monitor
from lifecycle.monitoring.outcome import Exit, MonitorError
from lifecycle.monitoring.reference import PROFILE_FILE, as_categories
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import PredictionLog, now
from tests.support.http import free_port
from tests.support.pipeline import FirstRun
from tests.support.serving import json_rows

pytestmark = pytest.mark.e2e

SINCE, UNTIL = datetime(2013, 11, 1), datetime(2013, 11, 15)


def write_log(
    url: str,
    bundle_dir: Path,
    flights: pd.DataFrame,
    label: Callable[[pd.Series], list[Any]] | None = None,
    version: str | None = None,
) -> pd.DataFrame:
    """Log the bundle's predictions of `flights` at their scheduled hour, one request per
    flight, and store `label(outcomes)` (default: the real outcomes) for every other flight.
    Returns the flights logged (those the schema accepts)."""
    bundle = load_bundle(bundle_dir)
    answers = bundle.predict(flights[bundle.input_columns].reset_index(drop=True))
    valid = answers["error"].isna().to_numpy()
    flights, answers = flights[valid].reset_index(drop=True), answers[valid].reset_index(drop=True)
    log = PredictionLog(PredictionLogSettings(url=url, flush_seconds=0.01))
    log.append(
        [
            {
                "request_id": f"{i:032x}",
                "row_index": 0,
                "logged_at": stamp.to_pydatetime(),
                "model_version": version or bundle.metadata.model_version,
                "endpoint": "/predict",
                "input": row,
                "prediction": answer,
                "probability": probability,
                "unknown_categories": [],
                "latency_ms": 1.0,
            }
            for i, (row, answer, probability, stamp) in enumerate(
                zip(
                    json_rows(flights[bundle.input_columns]),
                    answers["prediction"].tolist(),
                    answers["probability"].tolist(),
                    flights["time_hour"],
                )
            )
        ]
    )
    log.close()
    outcomes = flights[bundle.metadata.target]
    actual = label(outcomes) if label else [bundle.classes[int(v)] for v in outcomes]
    store = LabelStore(url, "labels", "predictions")
    store.add([Label(f"{i:032x}", 0, a) for i, a in enumerate(actual) if i % 2 == 0], now())
    store.close()
    return flights


@pytest.fixture(scope="module")
def flights(pipeline_run: FirstRun) -> pd.DataFrame:
    """The real test flights of the first two November weeks, in time order."""
    test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet")
    return test[test["time_hour"] < pd.Timestamp(UNTIL, tz="UTC")].sort_values("time_hour").reset_index(drop=True)


@pytest.fixture(scope="module")
def settings() -> MonitorSettings:
    return load_params().monitor


def log_settings(url: str) -> PredictionLogSettings:
    return PredictionLogSettings(url=url)


def test_the_current_frame_types_categories_as_the_reference_sample_does() -> None:
    """Text columns of the log (passed through), booleans and other dtypes: as_categories each."""
    log = pd.DataFrame(
        {
            "carrier": pd.Series(["UA", None, "B6"]),
            "code": pd.Series(["1", None, "2"], dtype="string"),
            "flag": [True, None, False],
            "distance": [719.0, None, 1.0],
            "probability": [0.25, 0.5, 0.75],
        }
    )
    kinds = {"carrier": "categorical", "code": "categorical", "flag": "categorical", "distance": "numeric"}
    current = current_frame(log, kinds, task_classification=True)  # type: ignore[arg-type]
    for name in ("carrier", "code", "flag"):
        pd.testing.assert_series_equal(current[name], as_categories(log[name]))
    assert current["distance"].tolist()[::2] == [719.0, 1.0] and current["distance"].isna().tolist()[1]


def test_a_real_window_is_judged_drift_quality_volume_and_live_performance(
    bundle_dir: Path, flights: pd.DataFrame, settings: MonitorSettings, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    logged = write_log(url, bundle_dir, flights)
    result = run_monitor(bundle_dir, log_settings(url), SINCE, UNTIL, settings)
    summary = result.as_json()
    bundle = load_bundle(bundle_dir)
    assert summary["window"]["model_version"] == bundle.metadata.model_version
    assert [v["predictions"] for v in summary["volume"]] == [
        int(logged["time_hour"].between(start, start + pd.Timedelta(days=7), "left").sum())
        for start in pd.date_range(pd.Timestamp(SINCE, tz="UTC"), periods=2, freq="7D")
    ]
    columns = {c["column"]: c for c in summary["drift"]["columns"]}
    assert columns["month"]["expected"] and columns["month"]["drifted"]  # November, never in training
    assert not columns["origin"]["drifted"]
    performance = summary["performance"]
    assert performance["labelled"] == (performance["predictions"] + 1) // 2
    assert performance["test"] == bundle.metadata.metrics.test["roc_auc"]
    overall = performance["overall"]
    assert 0.55 < overall["low"] <= overall["value"] <= overall["high"] < 0.95
    assert sum(w["rows"] for w in performance["windows"]) == performance["labelled"]
    assert all(0 < w["rows"] < w["predictions"] and w["low"] <= w["value"] <= w["high"] for w in performance["windows"])
    assert performance["headline"]["roc_auc"] == overall["value"]
    assert set(performance["slices"]["by_column"]) == {"carrier", "origin"}
    assert all("interval" in w for w in performance["slices"]["worst"])
    assert (result.exit_code == Exit.ALERT) == bool(result.alerts)
    assert result.verdict.startswith("ALERT" if result.alerts else "no alert")


def test_a_broken_column_is_named(
    bundle_dir: Path, flights: pd.DataFrame, settings: MonitorSettings, tmp_path: Path
) -> None:
    """Temperatures sent in Celsius: the monitor names the column, and alerts when params ask."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    broken = flights.assign(temp=(flights["temp"] - 32) * 5 / 9)
    write_log(url, bundle_dir, broken)
    watch = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"columns": ["temp"], "dataset_drift": False})}
    )
    healthy_url = f"sqlite:///{tmp_path / 'healthy.sqlite'}"
    write_log(healthy_url, bundle_dir, flights)
    broken_result = run_monitor(bundle_dir, log_settings(url), SINCE, UNTIL, watch)
    healthy = {
        c.column: c for c in run_monitor(bundle_dir, log_settings(healthy_url), SINCE, UNTIL, watch).drift.columns
    }
    temp = next(c for c in broken_result.drift.columns if c.column == "temp")
    assert temp.drifted and temp.score > 3 * healthy["temp"].score
    assert broken_result.exit_code == Exit.ALERT
    assert any(alert.startswith("column temp drifted (wasserstein") for alert in broken_result.alerts)


def test_wrong_outcomes_make_the_metric_alert(
    bundle_dir: Path, flights: pd.DataFrame, settings: MonitorSettings, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    classes = load_bundle(bundle_dir).classes
    write_log(url, bundle_dir, flights, label=lambda outcomes: [classes[1 - int(v)] for v in outcomes])
    result = run_monitor(bundle_dir, log_settings(url), SINCE, UNTIL, settings)
    assert result.performance is not None and result.performance.overall.value < 0.5
    assert result.exit_code == Exit.ALERT
    assert any(a.startswith("live roc_auc") and "below the test roc_auc" in a for a in result.alerts)


def test_the_command_writes_json_html_markdown_and_figures(
    bundle_dir: Path, flights: pd.DataFrame, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    write_log(url, bundle_dir, flights)
    output, report = tmp_path / "metrics/monitor.json", tmp_path / "reports/monitor"
    args = ["monitor", "--since", "2013-11-01", "--until", "2013-11-15", "--bundle", str(bundle_dir)]
    code = main([*args, "--log-url", url, "--output", str(output), "--report-dir", str(report)])
    text = output.read_text()
    summary = json.loads(text)
    assert code == summary["exit_code"] in (Exit.FINE, Exit.ALERT)
    assert text == json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n"
    page = (report / "index.html").read_text()
    figures = sorted(p.name for p in report.glob("*.png"))
    assert {"drift.png", "score.png", "live_metric.png"} <= set(figures)
    assert all(f'src="{name}"' in page for name in figures)
    assert summary["verdict"] in page and summary["verdict"] in (report / "summary.md").read_text()


def test_each_unusable_input_has_its_message_and_exit_code_and_writes_nothing(
    bundle_dir: Path, flights: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    write_log(url, bundle_dir, flights.head(300), label=lambda outcomes: [])  # predictions, no labels
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    write_log(other, bundle_dir, flights.head(50), version="0123456789ab")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(bundle_dir, corrupt)
    (corrupt / PROFILE_FILE).write_text("{}")
    unreachable = f"postgresql+psycopg://nobody@127.0.0.1:{free_port('127.0.0.1')}/test"
    output, report = tmp_path / "monitor.json", tmp_path / "report"
    cases = [
        (
            ["--since", "2014-01-01", "--until", "2014-01-08"],
            url,
            bundle_dir,
            Exit.NOTHING_TO_JUDGE,
            "nothing to judge",
        ),
        (["--since", "2013-11-08", "--until", "2013-11-01"], url, bundle_dir, Exit.NOTHING_TO_JUDGE, "empty window"),
        (["--since", "2013-11-01", "--until", "2013-11-15"], other, bundle_dir, Exit.OTHER_VERSION, "0123456789ab"),
        (
            ["--since", "2013-11-01", "--until", "2013-11-15"],
            url,
            corrupt,
            Exit.BUNDLE,
            "reference.json does not match",
        ),
        (["--since", "2013-11-01", "--until", "2013-11-15"], unreachable, bundle_dir, Exit.DATABASE, "cannot read"),
    ]
    for window, log_url, bundle, code, message in cases:
        capsys.readouterr()
        args = ["monitor", *window, "--bundle", str(bundle), "--log-url", log_url]
        assert main([*args, "--output", str(output), "--report-dir", str(report)]) == code, message
        errors = [line for line in capsys.readouterr().err.splitlines() if " ERROR " in line]
        assert len(errors) == 1 and message in errors[0], errors
        assert not output.exists() and not report.exists()
    # predictions but no label: drift judged and written, performance not (dataset drift alerts off)
    settings = load_params().monitor
    quiet = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"dataset_drift": False})})
    result = run_monitor(bundle_dir, log_settings(url), SINCE, UNTIL, quiet)
    assert result.exit_code == Exit.NO_LABELS and result.performance is None
    assert "none of the" in result.verdict and "is labelled" in result.verdict
    with pytest.raises(MonitorError) as raised:
        run_monitor(bundle_dir, log_settings(other), SINCE, UNTIL, quiet)
    assert raised.value.code == Exit.OTHER_VERSION
