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
from PIL import Image

from lifecycle.__main__ import main
from lifecycle.config import MonitorSettings, PredictionLogSettings, load_params
from lifecycle.monitoring.baseline import current_frame
from lifecycle.monitoring.labels import Label, LabelStore
from lifecycle.monitoring.monitor import run_monitor
from lifecycle.monitoring.outcome import Exit, MonitorError
from lifecycle.monitoring.reference import PROFILE_FILE, as_categories, read_reference
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import now
from tests.support.browser import rendered_images
from tests.support.http import free_port
from tests.support.pipeline import FirstRun
from tests.support.serving import log_predictions

pytestmark = pytest.mark.e2e

SINCE, UNTIL = datetime(2013, 11, 1), datetime(2013, 11, 15)


def write_log(
    url: str,
    bundle_dir: Path,
    flights: pd.DataFrame,
    label: Callable[[pd.Series], list[Any]] | None = None,
    version: str | None = None,
) -> pd.DataFrame:
    """Log the bundle's predictions of `flights` (see `log_predictions`) and store
    `label(outcomes)` (default: the real outcomes) for every other flight. Returns the
    flights logged (those the schema accepts)."""
    bundle = load_bundle(bundle_dir)
    flights = log_predictions(url, bundle_dir, flights, version)
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


def test_the_previous_window_as_reference_quiets_the_season_and_names_a_broken_column(
    bundle_dir: Path, flights: pd.DataFrame, settings: MonitorSettings, tmp_path: Path
) -> None:
    """Week two against week one: November's calendar no longer drifts (it does against
    January-October), fewer columns drift, and temperatures sent in Celsius from week two on
    stand out as the strongest drift."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    week_two = datetime(2013, 11, 8)
    broken = flights["time_hour"] >= pd.Timestamp(week_two, tz="UTC")
    logged = write_log(
        url, bundle_dir, flights.assign(temp=flights["temp"].where(~broken, (flights["temp"] - 32) / 1.8))
    )
    previous = settings.model_copy(update={"reference": "previous_window"})
    result = run_monitor(bundle_dir, log_settings(url), week_two, UNTIL, previous)
    against_training = run_monitor(bundle_dir, log_settings(url), week_two, UNTIL, settings)

    assert result.as_json()["reference"] == {
        "kind": "window",
        "rows": int((logged["time_hour"] < pd.Timestamp(week_two, tz="UTC")).sum()),
        "since": "2013-11-01T00:00:00+00:00",
        "until": "2013-11-08T00:00:00+00:00",
    }
    columns = {c.column: c for c in result.drift.columns}
    trained = {c.column: c for c in against_training.drift.columns}
    assert trained["month"].drifted and not columns["month"].drifted
    assert columns["temp"].drifted and result.drift.strongest() == columns["temp"]
    assert result.drift.drifted < against_training.drift.drifted
    assert result.verdict.startswith("no alert") and ", most: temp (" in result.verdict

    first_week = run_monitor(bundle_dir, log_settings(url), SINCE, week_two, previous)
    assert first_week.baseline.kind == "training" and first_week.baseline.rows == len(read_reference(bundle_dir).sample)
    assert first_week.notes[0] == (
        "the reference window 2013-10-25T00:00:00+00:00 to 2013-11-01T00:00:00+00:00 holds no prediction of "
        f"model version {first_week.window.model_version}: drift is judged against training"
    )


def test_a_wrong_unit_is_unusual_drift_named_and_alerts_when_params_ask(
    pipeline_run: FirstRun, bundle_dir: Path, settings: MonitorSettings, tmp_path: Path
) -> None:
    """Six weeks logged, the sixth with temperatures in Celsius: against the four weeks before,
    temp is unusual (the weather columns that drift against training every week are not; the
    week before it, whose storm makes wind gusts unusual, is among the four)."""
    test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet").sort_values("time_hour")
    sixth = pd.Timestamp("2013-12-06", tz="UTC")
    test = test[test["time_hour"] < sixth + pd.Timedelta(days=7)].reset_index(drop=True)
    broken = test["time_hour"] >= sixth
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    write_log(url, bundle_dir, test.assign(temp=test["temp"].where(~broken, (test["temp"] - 32) / 1.8)))
    week = (datetime(2013, 12, 6), datetime(2013, 12, 13))
    named = run_monitor(bundle_dir, log_settings(url), *week, settings)  # flights: unusual drift does not alert
    assert not settings.alerts.unusual_drift and [u.column for u in named.unusual] == ["temp"]
    assert not any(alert.startswith("unusual") for alert in named.alerts)
    assert any(
        note.startswith("unusual drift (monitor.alerts.unusual_drift is off): temp (PSI") for note in named.notes
    )
    assert named.verdict.startswith("ALERT") or ", unusual: temp (PSI" in named.verdict
    alerting = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"unusual_drift": True})})
    result = run_monitor(bundle_dir, log_settings(url), *week, alerting)
    assert result.history_windows == 4 and [u.column for u in result.unusual] == ["temp"]
    assert result.exit_code == Exit.ALERT
    assert result.alerts[0].startswith("unusual drift, far beyond the column's own past (a broken input?): temp (PSI")
    assert result.verdict.startswith("ALERT: unusual drift") and "temp (PSI" in result.verdict
    unusual = result.as_json()["unusual_drift"]
    assert unusual["history_windows"] == 4 and unusual["columns"][0]["column"] == "temp"

    healthy_url = f"sqlite:///{tmp_path / 'healthy.sqlite'}"
    write_log(healthy_url, bundle_dir, test)
    healthy = run_monitor(
        bundle_dir, log_settings(healthy_url), datetime(2013, 12, 6), datetime(2013, 12, 13), settings
    )
    assert healthy.history_windows == 4 and healthy.unusual == []
    assert {"temp", "dewp"} & set(healthy.drift.drifted_columns())  # the season still drifts against training
    # the week of the storm (wind gusts of another order than the four weeks before) is unusual too
    storm = run_monitor(bundle_dir, log_settings(healthy_url), datetime(2013, 11, 29), datetime(2013, 12, 6), settings)
    assert [u.column for u in storm.unusual] == ["wind_gust"]


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
    week_before = ["--reference-since", "2013-10-25", "--reference-until", "2013-11-01"]  # nothing logged then
    code = main([*args, *week_before, "--log-url", url, "--output", str(output), "--report-dir", str(report)])
    text = output.read_text()
    summary = json.loads(text)
    assert code == summary["exit_code"] in (Exit.FINE, Exit.ALERT)
    assert text == json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n"
    page = (report / "index.html").read_text()
    figures = sorted(p.name for p in report.glob("*.png"))
    assert {"drift.png", "score.png", "live_metric.png"} <= set(figures)
    assert all(f'src="{name}"' in page for name in figures)
    assert summary["verdict"] in page and summary["verdict"] in (report / "summary.md").read_text()
    assert summary["reference"] == {"kind": "training", "rows": len(read_reference(bundle_dir).sample)}
    assert summary["notes"][0].startswith("the reference window 2013-10-25T00:00:00+00:00 to 2013-11-01")
    assert summary["notes"][0] in page


def test_the_report_page_shows_every_figure_in_a_browser(
    bundle_dir: Path, flights: pd.DataFrame, tmp_path: Path
) -> None:
    """Opened in headless Chromium with the network off, the page shows each of its PNGs at the
    size drawn; a file that is no PNG shows as nothing (the control: the check can fail)."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    write_log(url, bundle_dir, flights)
    report = tmp_path / "report"
    args = ["monitor", "--since", "2013-11-01", "--until", "2013-11-15", "--bundle", str(bundle_dir)]
    main([*args, "--log-url", url, "--output", str(tmp_path / "monitor.json"), "--report-dir", str(report)])
    figures = sorted(p.name for p in report.glob("*.png"))

    shown = rendered_images(report)
    assert shown["title"] == f"Monitor: model {load_bundle(bundle_dir).metadata.model_version}"
    assert sorted(src for src, _, _ in shown["images"]) == figures
    assert all((width, height) == Image.open(report / src).size for src, width, height in shown["images"])

    drift = report / "drift.png"
    drift.write_bytes(b"not a PNG")
    broken = {src: (width, height) for src, width, height in rendered_images(report)["images"]}
    assert broken["drift.png"] == (0, 0) and broken["score.png"] != (0, 0)


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
        (
            ["--since", "2013-11-08", "--until", "2013-11-15", "--reference-since", "2013-11-01"],
            url,
            bundle_dir,
            Exit.NOTHING_TO_JUDGE,
            "give both --reference-since and --reference-until",
        ),
        (
            ["--since", "2013-11-08", "--until", "2013-11-15", "--reference-since", "2013-11-08"]
            + ["--reference-until", "2013-11-01"],
            url,
            bundle_dir,
            Exit.NOTHING_TO_JUDGE,
            "empty reference window",
        ),
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
