"""Alerts fire as params declare them; too few labels is a note, never an alert."""

from __future__ import annotations

from lifecycle.config import AlertSettings
from lifecycle.monitoring.alerts import drift_alerts, performance_alerts
from lifecycle.monitoring.drift import ColumnDrift, DatasetDrift
from lifecycle.monitoring.performance import Estimate, LivePerformance
from lifecycle.monitoring.unusual import UnusualDrift


def drift(column: str, drifted: bool, expected: bool = False) -> ColumnDrift:
    return ColumnDrift(column, "numeric", "wasserstein", 0.3 if drifted else 0.01, 0.1, drifted, 0.2, expected, 900, 90)


def performance(labelled: int, value: float, worst: float) -> LivePerformance:
    """Live carrier=UA at `worst`, where test had 0.70; carrier=VX as low on test as live."""
    worst_slice = {"slice": "carrier=UA", "rows": 300, "roc_auc": worst}
    live = [{"value": "UA", "rows": 300, "roc_auc": worst}, {"value": "VX", "rows": 200, "roc_auc": 0.55}]
    test = [{"value": "UA", "rows": 900, "roc_auc": 0.70}, {"value": "VX", "rows": 800, "roc_auc": 0.56}]
    return LivePerformance(
        metric="roc_auc",
        test_value=0.73,
        predictions=1000,
        labelled=labelled,
        overall=Estimate(value, value - 0.02, value + 0.02, labelled),
        headline={"roc_auc": value},
        windows=[],
        slices={"ranked_by": "roc_auc", "by_column": {"carrier": live}, "worst": [worst_slice]},
        test_slices={"ranked_by": "roc_auc", "by_column": {"carrier": test}, "worst": []},
    )


def test_drift_alerts_follow_params() -> None:
    columns = [drift("temp", True), drift("month", True, expected=True), drift("distance", False)]
    dataset = DatasetDrift(columns, counted=2, drifted=1, share=0.5, drift=True)
    score = drift("model score", True)
    assert drift_alerts(dataset, score, [], AlertSettings(dataset_drift=False)) == []
    assert drift_alerts(dataset, score, [], AlertSettings())[0].startswith("dataset drift: 1 of 2 columns drifted")
    named = drift_alerts(dataset, score, [], AlertSettings(dataset_drift=False, columns=["temp", "month", "distance"]))
    assert named == ["column temp drifted (wasserstein 0.3, threshold 0.1)"]  # expected or steady: no alert
    scored = drift_alerts(dataset, score, [], AlertSettings(dataset_drift=False, prediction_drift=True))
    assert scored == ["prediction drift: the model's scores drifted (wasserstein 0.3, threshold 0.1)"]
    broken = [UnusualDrift("distance", 1.652, 0.03, 4)]
    assert drift_alerts(dataset, score, broken, AlertSettings(dataset_drift=False)) == [
        "unusual drift, far beyond the column's own past (a broken input?): "
        "distance (PSI 1.65 against the 4 windows before, which differ from one another by at most 0.03)"
    ]
    assert drift_alerts(dataset, score, broken, AlertSettings(dataset_drift=False, unusual_drift=False)) == []


def test_performance_alerts_need_enough_labels() -> None:
    settings = AlertSettings(metric_drop=0.05, slice_drop=0.1, min_labelled_rows=200)
    assert performance_alerts(None, settings).notes[0].startswith("no labelled predictions")
    few = performance_alerts(performance(150, 0.5, 0.4), settings)
    assert few.alerts == [] and few.notes[0].startswith("too few labelled rows to judge performance: 150")
    fine = performance_alerts(performance(500, 0.70, 0.65), settings)  # VX: far below average, as on test
    assert fine.alerts == [] and fine.notes == []
    low = performance_alerts(performance(500, 0.66, 0.55), settings)
    assert len(low.alerts) == 2
    assert low.alerts[0] == "live roc_auc 0.660 [0.640, 0.680] is below the test roc_auc 0.730 by more than 0.05"
    assert low.alerts[1] == "slice below its test roc_auc by more than 0.1: carrier=UA 0.7000 → 0.5500 (300 rows)"
