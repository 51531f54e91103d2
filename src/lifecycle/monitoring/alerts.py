"""The monitor's alerts, as params declare them (`monitor.alerts`), each one sentence.

Alerts fire on what a retraining could fix, or a person must look at: a column drifted far
beyond its own past (a broken input, which no retraining fixes), the inputs drifted (the
dataset, or a column named in params), the scores drifted, the main metric fell below the
test metric, or a slice below the same slice's test metric. Too few labelled rows to judge
performance is a note, never an alert: labels arrive late, and a scheduler must not retrain
because they have not arrived yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.config import AlertSettings
from lifecycle.monitoring.drift import ColumnDrift, DatasetDrift
from lifecycle.monitoring.performance import LivePerformance
from lifecycle.monitoring.unusual import UnusualDrift
from lifecycle.review.comparison import slice_regressions


@dataclass(frozen=True)
class Judgement:
    """The alerts that fired and the notes on what could not be judged."""

    alerts: list[str]
    notes: list[str]


def _score(drift: ColumnDrift) -> str:
    return f"{drift.method} {drift.score:.3g}, threshold {drift.threshold:g}"


def drift_alerts(
    drift: DatasetDrift, prediction: ColumnDrift, unusual: list[UnusualDrift], settings: AlertSettings
) -> list[str]:
    """Unusual drift (first: the most specific), dataset drift, the drift of a column params
    name, the drift of the scores."""
    alerts = []
    if settings.unusual_drift and unusual:
        alerts.append(
            "unusual drift, far beyond the column's own past (a broken input?): "
            + "; ".join(u.sentence() for u in unusual)
        )
    if settings.dataset_drift and drift.drift:
        alerts.append(
            f"dataset drift: {drift.drifted} of {drift.counted} columns drifted "
            f"(share {drift.share:.2f}): {', '.join(drift.drifted_columns())}"
        )
    for column in drift.columns:
        if column.column in settings.columns and column.drifted and not column.expected:
            shown = "no values in the window" if column.score is None else _score(column)
            alerts.append(f"column {column.column} drifted ({shown})")
    if settings.prediction_drift and prediction.drifted:
        alerts.append(f"prediction drift: the model's scores drifted ({_score(prediction)})")
    return alerts


def performance_alerts(performance: LivePerformance | None, settings: AlertSettings) -> Judgement:
    """The main metric or the worst slice below the test metric, once enough rows are labelled."""
    if performance is None or performance.labelled == 0:
        return Judgement([], ["no labelled predictions in the window: performance not judged"])
    if performance.labelled < settings.min_labelled_rows:
        return Judgement(
            [],
            [
                f"too few labelled rows to judge performance: {performance.labelled} "
                f"(monitor.alerts.min_labelled_rows: {settings.min_labelled_rows})"
            ],
        )
    test, metric, overall = performance.test_value, performance.metric, performance.overall
    if test is None or overall.value is None:
        return Judgement([], [f"live {metric} cannot be computed on the labelled rows: performance not judged"])
    alerts = []
    if overall.value < test - settings.metric_drop:
        alerts.append(
            f"live {metric} {overall.value:.3f} [{overall.low:.3f}, {overall.high:.3f}] is below the test "
            f"{metric} {test:.3f} by more than {settings.metric_drop:g}"
        )
    # each slice against the same slice on test (not the overall metric: a worst slice lies
    # below the average on test too), by the review's own slice comparison
    dropped = slice_regressions(performance.test_slices, performance.slices, 1, settings.slice_drop)
    if dropped:
        more = f" (and {len(dropped) - 1} more)" if len(dropped) > 1 else ""
        alerts.append(
            f"slice below its test {performance.slices['ranked_by']} by more than {settings.slice_drop:g}: "
            f"{dropped[0].replace('`', '')}{more}"
        )
    return Judgement(alerts, [])
