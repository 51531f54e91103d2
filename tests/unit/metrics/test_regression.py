"""Regression metrics, plot data and figures on a real model of scikit-learn's bundled
diabetes data (disease progression after one year), checked against independent computations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    median_absolute_error,
    r2_score,
)
from sklearn.model_selection import train_test_split

from lifecycle.evaluation import figures
from lifecycle.metrics.regression import HEADLINE_METRICS, prediction_points, residual_histogram, score_metrics
from lifecycle.metrics.regression import test_metrics as regression_test_metrics


@dataclass
class Fitted:
    y_test: np.ndarray
    predicted: np.ndarray
    mean_baseline: np.ndarray  # the train mean, predicted for every test row


@pytest.fixture(scope="module")
def diabetes() -> Fitted:
    data = load_diabetes(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=0)
    model = RandomForestRegressor(n_estimators=50, max_depth=4, random_state=0, n_jobs=1)
    model.fit(X_train, y_train)
    mean = DummyRegressor().fit(X_train, y_train)
    return Fitted(y_test.to_numpy(), model.predict(X_test), mean.predict(X_test))


# --- score_metrics / test_metrics ---------------------------------------------------------


def test_score_metrics_are_exactly_the_headline_scores(diabetes: Fitted) -> None:
    scores = score_metrics(diabetes.y_test, diabetes.predicted)
    assert tuple(scores) == HEADLINE_METRICS
    assert all(type(value) is float for value in scores.values())
    assert 0.1 < scores["r2"] < 0.9  # a real model: it explains some, not all, of the target


def test_score_metrics_match_sklearn(diabetes: Fitted) -> None:
    y, predicted = diabetes.y_test, diabetes.predicted
    scores = score_metrics(y, predicted)
    mse = mean_squared_error(y, predicted)
    assert scores == {
        "r2": round(r2_score(y, predicted), 6),
        "rmse": round(float(np.sqrt(mse)), 6),
        "mae": round(mean_absolute_error(y, predicted), 6),
        "mse": round(mse, 6),
        "median_absolute_error": round(median_absolute_error(y, predicted), 6),
    }
    assert scores["rmse"] == pytest.approx(np.sqrt(scores["mse"]), abs=1e-6)
    assert scores["mae"] <= scores["rmse"]  # always: the mean of squares bounds the squared mean


def test_the_train_mean_explains_nothing(diabetes: Fitted) -> None:
    """R² is measured against the test mean: the train mean cannot beat it."""
    mean = score_metrics(diabetes.y_test, diabetes.mean_baseline)
    assert mean["r2"] <= 0
    model = score_metrics(diabetes.y_test, diabetes.predicted)
    assert model["r2"] > mean["r2"] and model["rmse"] < mean["rmse"] and model["mae"] < mean["mae"]
    test_mean = np.full(len(diabetes.y_test), diabetes.y_test.mean())
    assert score_metrics(diabetes.y_test, test_mean)["r2"] == 0.0


def test_test_metrics_add_scale_and_bias(diabetes: Fitted) -> None:
    y, predicted = diabetes.y_test, diabetes.predicted
    metrics = regression_test_metrics(y, predicted)
    assert {name: metrics[name] for name in HEADLINE_METRICS} == score_metrics(y, predicted)
    assert set(metrics) == set(HEADLINE_METRICS) | {"rows", "target_mean", "target_std", "residual_mean"}
    assert metrics["rows"] == len(y) == 133
    assert metrics["target_mean"] == round(float(np.mean(y)), 6)
    assert metrics["target_std"] == round(float(np.std(y)), 6)  # population std (ddof=0)
    assert metrics["residual_mean"] == round(float(y.mean() - predicted.mean()), 6)
    # predicting the target mean leaves an RMSE equal to the target's standard deviation
    test_mean = np.full(len(y), y.mean())
    assert score_metrics(y, test_mean)["rmse"] == pytest.approx(metrics["target_std"], abs=1e-6)
    assert json.loads(json.dumps(metrics)) == metrics


def test_inputs_must_align(diabetes: Fitted) -> None:
    with pytest.raises(ValueError, match="equal length"):
        score_metrics(diabetes.y_test, diabetes.predicted[:-1])


# --- prediction_points --------------------------------------------------------------------


def test_prediction_points_are_all_rows_in_order_when_few(diabetes: Fitted) -> None:
    points = prediction_points(diabetes.y_test, diabetes.predicted, max_points=1000, seed=0)
    assert len(points) == len(diabetes.y_test)
    assert [p["actual"] for p in points] == [round(float(v), 6) for v in diabetes.y_test]
    assert [p["predicted"] for p in points] == [round(float(v), 6) for v in diabetes.predicted]
    for point in points:
        assert set(point) == {"actual", "predicted", "residual"}
        assert point["residual"] == pytest.approx(point["actual"] - point["predicted"], abs=2e-6)


def test_prediction_points_sample_is_seeded_bounded_and_ordered(diabetes: Fitted) -> None:
    every = prediction_points(diabetes.y_test, diabetes.predicted, max_points=1000, seed=0)
    sample = prediction_points(diabetes.y_test, diabetes.predicted, max_points=40, seed=3)
    assert len(sample) == 40
    assert sample == prediction_points(diabetes.y_test, diabetes.predicted, max_points=40, seed=3)
    assert sample != prediction_points(diabetes.y_test, diabetes.predicted, max_points=40, seed=4)
    # a subsequence of all the rows: the sample keeps input order
    positions = [every.index(point) for point in sample]
    assert positions == sorted(positions) and len(set(positions)) == 40


# --- residual_histogram -------------------------------------------------------------------


def test_residual_histogram_counts_every_row(diabetes: Fitted) -> None:
    y, predicted = diabetes.y_test, diabetes.predicted
    histogram = residual_histogram(y, predicted, bins=12)
    assert len(histogram) == 12
    assert sum(b["count"] for b in histogram) == len(y)
    assert all(type(b["count"]) is int for b in histogram)
    counts, edges = np.histogram(y - predicted, bins=12)
    assert [b["count"] for b in histogram] == counts.tolist()
    residual = y - predicted
    assert histogram[0]["left"] == round(float(residual.min()), 6)
    assert histogram[-1]["right"] == round(float(residual.max()), 6)
    for previous, current in zip(histogram, histogram[1:]):
        assert previous["right"] == current["left"]
    for b in histogram:
        assert b["residual"] == pytest.approx((b["left"] + b["right"]) / 2, abs=1e-6)


# --- figures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def series(diabetes: Fitted) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Model and mean-baseline plot data, overlaid as the review report overlays revisions."""
    pairs = {"model": diabetes.predicted, "mean": diabetes.mean_baseline}
    return {
        "points": {label: prediction_points(diabetes.y_test, p, max_points=100, seed=0) for label, p in pairs.items()},
        "histogram": {label: residual_histogram(diabetes.y_test, p, bins=15) for label, p in pairs.items()},
    }


@pytest.mark.parametrize(
    "draw, data",
    [
        (figures.predicted_vs_actual_figure, "points"),
        (figures.residuals_figure, "points"),
        (figures.residual_histogram_figure, "histogram"),
    ],
)
def test_regression_figures_are_valid_pngs(draw: object, data: str, series: dict, tmp_path: Path) -> None:
    target = tmp_path / "figures" / "figure.png"
    draw(series[data], target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(target).shape
    assert (width, height) == (500, 450)  # the default 5 x 4.5 in at 100 dpi
    assert [p.name for p in target.parent.iterdir()] == ["figure.png"]  # no temp file left
    one = tmp_path / "one.png"
    draw({"model": series[data]["model"]}, one)
    assert one.read_bytes() != target.read_bytes()  # the second series is drawn
