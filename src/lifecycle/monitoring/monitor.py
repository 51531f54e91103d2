"""One monitor run: a window of the prediction log against the bundle that served it.

`judge_window` is the whole judgement as a pure function of frames (the log's window, the
labels, the bundle and its reference); `run_monitor` reads those from the bundle folder and
the log's database and turns each way they can be unusable into a `MonitorError` with its
own exit code, before anything is computed or written.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.config import EvaluateSettings, MonitorSettings, PredictionLogSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.rounding import rounded
from lifecycle.monitoring.alerts import drift_alerts, performance_alerts
from lifecycle.monitoring.drift import ColumnDrift, DatasetDrift, Kind, column_drift, dataset_drift
from lifecycle.monitoring.labels import read_labels
from lifecycle.monitoring.outcome import Exit, MonitorError
from lifecycle.monitoring.performance import LivePerformance, join_labels, live_performance, window_starts
from lifecycle.monitoring.reference import SCORE_COLUMN, Reference, as_categories, read_reference
from lifecycle.monitoring.rejected import NOT_RECORDED, rejected_requests
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.serving.prediction_log import read_prediction_log, read_rejected_requests

logger = logging.getLogger(__name__)


class Stopwatch:
    """Logs the seconds each phase of a run took (`monitor phase read log: 3.21 s`): where a
    large window's time goes, as bench/monitor_scale.py reports it."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        logger.info("monitor phase %s: %.2f s", phase, now - self.last)
        self.last = now


@dataclass(frozen=True)
class Window:
    """The judged window [since, until) and the model version judged."""

    since: pd.Timestamp
    until: pd.Timestamp
    model_version: str
    other_versions: dict[str, int] = field(default_factory=dict)  # predictions of other versions, not judged


@dataclass
class MonitorResult:
    """Everything a monitor run found: what the JSON, the Markdown and the HTML report show."""

    window: Window
    volume: list[dict[str, Any]]
    drift: DatasetDrift
    prediction_drift: ColumnDrift
    quality: dict[str, Any]
    performance: LivePerformance | None
    alerts: list[str]
    notes: list[str]
    exit_code: Exit
    verdict: str
    # reference and current values of the monitored columns and the score, for the figures
    reference: pd.DataFrame
    current: pd.DataFrame
    # refused prediction requests of the window (see monitoring/rejected.py); set by run_monitor
    rejected_requests: dict[str, Any] = field(default_factory=lambda: dict(NOT_RECORDED))

    def as_json(self) -> dict[str, Any]:
        return {
            "window": {
                "since": self.window.since.isoformat(),
                "until": self.window.until.isoformat(),
                "model_version": self.window.model_version,
                "other_versions": self.window.other_versions,
            },
            "volume": self.volume,
            "drift": self.drift.as_json(),
            "prediction_drift": self.prediction_drift.as_json(),
            "quality": self.quality,
            "rejected_requests": self.rejected_requests,
            "performance": None if self.performance is None else self.performance.as_json(),
            "alerts": self.alerts,
            "notes": self.notes,
            "exit_code": int(self.exit_code),
            "verdict": self.verdict,
        }


def current_frame(log: pd.DataFrame, kinds: dict[str, Kind], task_classification: bool) -> pd.DataFrame:
    """The window's monitored inputs typed as the reference sample is, and the model's score.
    A column the log lacks is all missing (it vanished from the requests)."""
    columns = {}
    for name, kind in kinds.items():
        values = log[name] if name in log else pd.Series(np.nan, index=log.index)
        columns[name] = _categories(values) if kind == "categorical" else pd.to_numeric(values, errors="coerce")
    score = log["probability"] if task_classification else log["prediction"]
    columns[SCORE_COLUMN] = pd.to_numeric(score, errors="coerce").astype("float64")
    return pd.DataFrame(columns, index=log.index).reset_index(drop=True)


def _categories(values: pd.Series) -> pd.Series:
    """`as_categories`, which gives a column that is already text (the log's str columns)
    back unchanged, so it is skipped there: it would build and drop a Python string per row."""
    return values if values.dtype == "str" else as_categories(values)


def data_quality(current: pd.DataFrame, log: pd.DataFrame, reference: Reference, bundle: Bundle) -> dict[str, Any]:
    """Per column the missing share against training's and, for categories, the share of values
    training never saw; the share of predictions the service flagged for an unknown category."""
    known = {c["name"]: set(c["categories"]) for c in bundle.schema["columns"] if c["kind"] == "categorical"}
    columns = []
    for name, profile in reference.profile.columns.items():
        values = current[name]
        entry: dict[str, Any] = {
            "column": name,
            "missing_share": rounded(values.isna().mean()) if len(values) else 0.0,
            "reference_missing_share": profile.missing_share,
        }
        if name in known:
            present = values.dropna()
            entry["unknown_share"] = rounded((~present.isin(known[name])).mean()) if len(present) else 0.0
        columns.append(entry)
    flagged = log["unknown_categories"].map(bool).mean() if len(log) else 0.0
    return {"columns": columns, "flagged_unknown_share": rounded(flagged)}


def volume(log: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp, window: str) -> list[dict[str, Any]]:
    """Predictions per sub-window (day or week)."""
    step = pd.Timedelta(days=7 if window == "week" else 1)
    return [
        {"start": start.isoformat(), "predictions": int(log["logged_at"].between(start, start + step, "left").sum())}
        for start in window_starts(since, until, window)
    ]


def judge_window(
    window: Window,
    log: pd.DataFrame,
    labels: pd.DataFrame,
    bundle: Bundle,
    reference: Reference,
    settings: MonitorSettings,
) -> MonitorResult:
    """Drift, data quality, volume, live performance and alerts of one model version's window."""
    stopwatch = Stopwatch()
    kinds: dict[str, Kind] = reference.profile.kinds()  # type: ignore[assignment]
    current = current_frame(log, kinds, bundle.task.classification)
    drift = dataset_drift(reference.sample, current, kinds, settings.drift)
    reference_scores, current_scores = reference.sample[SCORE_COLUMN], current[SCORE_COLUMN]
    scores = column_drift("model score", reference_scores, current_scores, "numeric", settings.drift)
    stopwatch.lap("drift")
    evaluate = EvaluateSettings.model_validate(bundle.metadata.params.get("evaluate", {}))
    labelled = join_labels(log, labels, evaluate.slices.columns)
    performance = None
    if len(labelled):
        performance = live_performance(
            log,
            labelled,
            bundle.task,
            bundle.classes,
            bundle.metadata.threshold,
            bundle.metadata.metrics.test,
            reference.profile.test_slices,
            evaluate,
            settings,
            window.since,
            window.until,
        )
    stopwatch.lap("performance")
    judged = performance_alerts(performance, settings.alerts)
    alerts = [*drift_alerts(drift, scores, settings.alerts), *judged.alerts]
    if alerts:
        code = Exit.ALERT
        verdict = f"ALERT: {alerts[0]}" + (f" (and {len(alerts) - 1} more alert(s))" if len(alerts) > 1 else "")
    elif performance is None:
        code = Exit.NO_LABELS
        verdict = (
            f"no alert on drift; none of the {len(log)} predictions in the window is labelled: performance not judged"
        )
    else:
        code = Exit.FINE
        verdict = f"no alert: {drift.drifted} of {drift.counted} columns drifted{_strongest(drift)}; " + (
            judged.notes[0]
            if judged.notes
            else f"live {performance.metric} {performance.overall.value} on {performance.labelled} labelled rows "
            f"(test {performance.test_value})"
        )
    return MonitorResult(
        window=window,
        volume=volume(log, window.since, window.until, settings.window),
        drift=drift,
        prediction_drift=scores,
        quality=data_quality(current, log, reference, bundle),
        performance=performance,
        alerts=alerts,
        notes=judged.notes,
        exit_code=code,
        verdict=verdict,
        reference=reference.sample,
        current=current,
    )


def _strongest(drift: DatasetDrift) -> str:
    """`, most: distance (wasserstein 0.903)`, naming the column that drifted most, if any."""
    column = drift.strongest()
    if column is None:
        return ""
    shown = "no values" if column.score is None else f"{column.method} {column.score:.3g}"
    return f", most: {column.column} ({shown})"


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def run_monitor(
    bundle_dir: Path, log_settings: PredictionLogSettings, since: datetime, until: datetime, settings: MonitorSettings
) -> MonitorResult:
    """Read the bundle, its reference, the window of the log and the labels, then judge.

    Raises MonitorError (with its exit code) when there is nothing to judge or an input is
    unusable; reads only, writes nothing.
    """
    start, end = _utc(since), _utc(until)
    if not start < end:
        raise MonitorError(
            f"empty window: --since {start.isoformat()} is not before --until {end.isoformat()}", Exit.NOTHING_TO_JUDGE
        )
    stopwatch = Stopwatch()
    try:
        bundle = load_bundle(bundle_dir)
        reference = read_reference(bundle_dir)
    except LifecycleError as error:
        raise MonitorError(str(error), Exit.BUNDLE) from None
    try:
        stopwatch.lap("read bundle")
        window_bounds = start.to_pydatetime(), end.to_pydatetime()
        log = read_prediction_log(log_settings.url, log_settings.table, *window_bounds)
        stopwatch.lap("read log")
        labels = read_labels(log_settings.url, log_settings.labels_table)
        stopwatch.lap("read labels")
        rejected = read_rejected_requests(log_settings.url, log_settings.rejected_table, *window_bounds)
    except LifecycleError as error:
        raise MonitorError(str(error), Exit.DATABASE) from None
    if log.empty:
        raise MonitorError(
            f"nothing to judge: no predictions logged between {start.isoformat()} and {end.isoformat()}",
            Exit.NOTHING_TO_JUDGE,
        )
    version = bundle.metadata.model_version
    mine = log["model_version"] == version
    others = {str(k): int(v) for k, v in log.loc[~mine, "model_version"].value_counts().sort_index().items()}
    if not mine.any():
        raise MonitorError(
            f"the window holds predictions of model version(s) {sorted(others)} only, and the bundle is version "
            f"{version}: monitor each version with its own bundle (--bundle)",
            Exit.OTHER_VERSION,
        )
    if others:
        logger.warning("judging model version %s only; not judged: %s", version, others)
    window = Window(start, end, version, others)
    judged = log if not others else log[mine].reset_index(drop=True)  # no copy of a window of one version
    result = judge_window(window, judged, labels, bundle, reference, settings)
    if rejected is not None:
        rejected = rejected[rejected["model_version"] == version]
    counted = rejected_requests(judged, rejected, start, end, settings.window)
    return dataclasses.replace(result, rejected_requests=counted)
