"""One monitor run: a window of the prediction log against the bundle that served it.

`judge_window` is the whole judgement as a pure function of frames (the log's window, the
labels, the bundle and what the window is compared with); `run_monitor` reads those from the
bundle folder and the log's database and turns each way they can be unusable into a
`MonitorError` with its own exit code, before anything is computed or written. What the
window is compared with (training or a log window, and the history windows) is
lifecycle.monitoring.baseline's.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lifecycle.config import EvaluateSettings, MonitorSettings, PredictionLogSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.rounding import rounded
from lifecycle.monitoring.alerts import drift_alerts, performance_alerts
from lifecycle.monitoring.baseline import Baseline, Comparison, Spans, compare_with, current_frame, read_windows, utc
from lifecycle.monitoring.drift import ColumnDrift, DatasetDrift, Kind, column_drift, dataset_drift
from lifecycle.monitoring.outcome import Exit, MonitorError
from lifecycle.monitoring.performance import LivePerformance, join_labels, live_performance, window_starts
from lifecycle.monitoring.reference import SCORE_COLUMN, Reference, read_reference
from lifecycle.monitoring.rejected import NOT_RECORDED, rejected_requests
from lifecycle.monitoring.unusual import UnusualDrift, unusual_columns
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.serving.prediction_log import read_rejected_requests

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
    baseline: Baseline
    volume: list[dict[str, Any]]
    drift: DatasetDrift
    unusual: list[UnusualDrift]
    history_windows: int  # windows before that gave each column's usual drift
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
            "reference": self.baseline.as_json(),
            "volume": self.volume,
            "drift": self.drift.as_json(),
            "unusual_drift": {"history_windows": self.history_windows, "columns": [u.as_json() for u in self.unusual]},
            "prediction_drift": self.prediction_drift.as_json(),
            "quality": self.quality,
            "rejected_requests": self.rejected_requests,
            "performance": None if self.performance is None else self.performance.as_json(),
            "alerts": self.alerts,
            "notes": self.notes,
            "exit_code": int(self.exit_code),
            "verdict": self.verdict,
        }


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
    keyed: pd.DataFrame,
    bundle: Bundle,
    comparison: Comparison,
    settings: MonitorSettings,
) -> MonitorResult:
    """Drift, unusual drift, data quality, volume, live performance and alerts of one model
    version's window. Drift compares it with the comparison's reference sample (training's or
    a log window's) and each column with its own history; data quality and performance always
    with training and test. Labels: `labels` by request id, `keyed` by key."""
    stopwatch = Stopwatch()
    reference = comparison.reference
    kinds: dict[str, Kind] = reference.profile.kinds()  # type: ignore[assignment]
    current = current_frame(log, kinds, bundle.task.classification)
    drift = dataset_drift(reference.sample, current, kinds, settings.drift)
    unusual = unusual_columns(current, comparison.history, kinds, settings.drift)
    reference_scores, current_scores = reference.sample[SCORE_COLUMN], current[SCORE_COLUMN]
    scores = column_drift("model score", reference_scores, current_scores, "numeric", settings.drift)
    stopwatch.lap("drift")
    evaluate = EvaluateSettings.model_validate(bundle.metadata.params.get("evaluate", {}))
    kinds_of_schema = {c["name"]: c["kind"] for c in bundle.schema["columns"]}
    labelled = join_labels(log, labels, keyed, kinds_of_schema, evaluate.slices.columns)
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
    alerts = [*drift_alerts(drift, scores, unusual, settings.alerts), *judged.alerts]
    notes = [*comparison.notes, *judged.notes]
    if unusual and not settings.alerts.unusual_drift:
        notes.append("unusual drift (monitor.alerts.unusual_drift is off): " + "; ".join(u.sentence() for u in unusual))
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
        verdict = f"no alert: {drift.drifted} of {drift.counted} columns drifted{_strongest(drift, unusual)}; " + (
            judged.notes[0]
            if judged.notes
            else f"live {performance.metric} {performance.overall.value} on {performance.labelled} labelled rows "
            f"(test {performance.test_value})"
        )
    return MonitorResult(
        window=window,
        baseline=comparison.baseline,
        volume=volume(log, window.since, window.until, settings.window),
        drift=drift,
        unusual=unusual,
        history_windows=len(comparison.history),
        prediction_drift=scores,
        quality=data_quality(current, log, reference, bundle),
        performance=performance,
        alerts=alerts,
        notes=notes,
        exit_code=code,
        verdict=verdict,
        reference=reference.sample,
        current=current,
    )


def _strongest(drift: DatasetDrift, unusual: list[UnusualDrift]) -> str:
    """`, most: temp (wasserstein 1.13)`, naming the column that drifted most, if any, and
    `, unusual: distance (PSI ...)` first when a column drifted beyond its own past."""
    if unusual:
        return f", unusual: {unusual[0].sentence()}"
    column = drift.strongest()
    if column is None:
        return ""
    shown = "no values" if column.score is None else f"{column.method} {column.score:.3g}"
    return f", most: {column.column} ({shown})"


def run_monitor(
    bundle_dir: Path,
    log_settings: PredictionLogSettings,
    since: datetime,
    until: datetime,
    settings: MonitorSettings,
    reference_between: tuple[datetime, datetime] | None = None,
) -> MonitorResult:
    """Read the bundle, its reference, the window of the log and the labels, then judge; drift
    against `reference_between` (a window of the log) when given, else as `settings` say.

    Raises MonitorError (with its exit code) when there is nothing to judge or an input is
    unusable; reads only, writes nothing.
    """
    start, end = utc(since), utc(until)
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
    spans = Spans.of(start, end, settings, reference_between)
    if spans.reference is not None and not spans.reference[0] < spans.reference[1]:
        raise MonitorError(
            f"empty reference window: {spans.reference[0].isoformat()} is not before {spans.reference[1].isoformat()}",
            Exit.NOTHING_TO_JUDGE,
        )
    try:
        stopwatch.lap("read bundle")
        logs = read_windows(log_settings, spans)
        stopwatch.lap("read log and labels")
        window_bounds = start.to_pydatetime(), end.to_pydatetime()
        rejected = read_rejected_requests(log_settings.url, log_settings.rejected_table, *window_bounds)
    except LifecycleError as error:
        raise MonitorError(str(error), Exit.DATABASE) from None
    log = logs.current
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
    comparison = compare_with(logs, spans, reference, version, bundle.task.classification)
    result = judge_window(window, judged, logs.labels, logs.keyed, bundle, comparison, settings)
    if rejected is not None:
        rejected = rejected[rejected["model_version"] == version]
    counted = rejected_requests(judged, rejected, start, end, settings.window)
    return dataclasses.replace(result, rejected_requests=counted)
