"""Test-set metrics and plot data, on predictions of a small model fitted to the real sample."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from lifecycle.evaluation.importance import raw_column_importance
from lifecycle.metrics.binary import (
    calibration_points,
    classification_metrics,
    confusion_rows,
    precision_recall_points,
    roc_points,
)
from tests.support.samples import Scored

METRIC_KEYS = {
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier",
    "confusion",
    "rows",
    "positive_rate",
    "threshold",
}


def is_monotone(values: list[float], increasing: bool) -> bool:
    steps = np.diff(values)
    return bool((steps >= 0).all() if increasing else (steps <= 0).all())


# --- classification_metrics -----------------------------------------------------------


def test_classification_metrics_on_real_predictions(scored: Scored) -> None:
    y, probability = scored.y, scored.probability
    metrics = classification_metrics(y, probability, 0.5)
    assert set(metrics) == METRIC_KEYS
    confusion = metrics["confusion"]
    assert sum(confusion.values()) == metrics["rows"] == len(y)
    assert confusion["tp"] + confusion["fn"] == int(y.sum())
    assert confusion["tp"] + confusion["fp"] == int((probability >= 0.5).sum())
    assert metrics["accuracy"] == round((confusion["tp"] + confusion["tn"]) / len(y), 6)
    assert metrics["positive_rate"] == round(float(y.mean()), 6)
    assert 0.6 < metrics["roc_auc"] < 1.0
    assert metrics["threshold"] == 0.5
    for name in ("accuracy", "precision", "recall", "f1", "average_precision", "brier"):
        assert 0.0 <= metrics[name] <= 1.0


def test_lower_threshold_predicts_more_positives(scored: Scored) -> None:
    low = classification_metrics(scored.y, scored.probability, 0.2)
    high = classification_metrics(scored.y, scored.probability, 0.6)
    assert low["confusion"]["tp"] + low["confusion"]["fp"] > high["confusion"]["tp"] + high["confusion"]["fp"]
    assert low["recall"] >= high["recall"]
    # ranking metrics do not depend on the threshold
    assert low["roc_auc"] == high["roc_auc"] and low["log_loss"] == high["log_loss"]


def test_perfect_classifier(scored: Scored) -> None:
    y = scored.y
    probability = np.where(y == 1, 0.9, 0.1)
    metrics = classification_metrics(y, probability, 0.5)
    assert metrics["roc_auc"] == 1.0
    assert metrics["average_precision"] == 1.0
    assert metrics["accuracy"] == metrics["precision"] == metrics["recall"] == metrics["f1"] == 1.0
    assert metrics["confusion"]["fp"] == metrics["confusion"]["fn"] == 0
    assert metrics["brier"] == pytest.approx(0.01)


# --- curves ---------------------------------------------------------------------------


@pytest.mark.parametrize("points", [10, 37])
def test_roc_points_thinned_and_monotone(scored: Scored, points: int) -> None:
    full = len(roc_curve(scored.y, scored.probability)[0])
    assert full > points
    curve = roc_points(scored.y, scored.probability, points)
    assert 2 <= len(curve) <= points
    assert set(curve[0]) == {"fpr", "tpr", "threshold"}
    assert (curve[0]["fpr"], curve[0]["tpr"]) == (0.0, 0.0)
    assert (curve[-1]["fpr"], curve[-1]["tpr"]) == (1.0, 1.0)
    assert is_monotone([p["fpr"] for p in curve], increasing=True)
    assert is_monotone([p["tpr"] for p in curve], increasing=True)
    assert is_monotone([p["threshold"] for p in curve], increasing=False)
    assert curve[0]["threshold"] == 1.0  # +inf is clipped to keep the JSON valid


def test_roc_points_not_thinned_when_short(scored: Scored) -> None:
    full = len(roc_curve(scored.y, scored.probability)[0])
    assert len(roc_points(scored.y, scored.probability, full + 5)) == full


@pytest.mark.parametrize("points", [10, 50])
def test_precision_recall_points_thinned_and_monotone(scored: Scored, points: int) -> None:
    curve = precision_recall_points(scored.y, scored.probability, points)
    assert 2 <= len(curve) <= points
    assert set(curve[0]) == {"recall", "precision", "threshold"}
    assert curve[0]["recall"] == 1.0
    assert curve[0]["precision"] == round(float(scored.y.mean()), 6)
    assert is_monotone([p["recall"] for p in curve], increasing=False)
    assert is_monotone([p["threshold"] for p in curve], increasing=True)
    assert all(0.0 <= p["precision"] <= 1.0 for p in curve)


def test_calibration_points(scored: Scored) -> None:
    bins = 8
    curve = calibration_points(scored.y, scored.probability, bins)
    assert 2 <= len(curve) <= bins
    assert set(curve[0]) == {"mean_predicted", "fraction_positive"}
    assert is_monotone([p["mean_predicted"] for p in curve], increasing=True)
    assert all(0.0 <= p["fraction_positive"] <= 1.0 for p in curve)
    # quantile bins hold about as many rows each (the scores have few ties), so their
    # means average to the overall ones
    assert len(np.unique(scored.probability)) > 20 * bins
    assert np.mean([p["mean_predicted"] for p in curve]) == pytest.approx(scored.probability.mean(), abs=0.01)
    assert np.mean([p["fraction_positive"] for p in curve]) == pytest.approx(scored.y.mean(), abs=0.01)


def test_confusion_rows(scored: Scored) -> None:
    predicted = (scored.probability >= 0.5).astype(int)
    rows = confusion_rows(scored.y, predicted)
    assert list(rows.columns) == ["actual", "predicted"]
    assert len(rows) == len(scored.y)
    metrics = classification_metrics(scored.y, scored.probability, 0.5)
    assert int(((rows["actual"] == 1) & (rows["predicted"] == 1)).sum()) == metrics["confusion"]["tp"]


# --- importance -----------------------------------------------------------------------


def test_raw_column_importance(scored: Scored, columns: list[str], roles: dict) -> None:
    sample = scored.rows.sample(n=300, random_state=0)
    importance = raw_column_importance(
        scored.pipeline,
        sample[columns],
        sample[roles.target].to_numpy(),
        repeats=1,
        seed=0,
    )
    assert [entry["feature"] for entry in importance] != columns  # reordered by importance
    assert sorted(entry["feature"] for entry in importance) == sorted(columns)
    values = [entry["importance"] for entry in importance]
    assert values == sorted(values, reverse=True)
    assert values[0] > 0
    # `year` is constant in 2013: shuffling it cannot change anything
    assert next(e for e in importance if e["feature"] == "year")["importance"] == 0.0
    assert all(entry["std"] >= 0 for entry in importance)
