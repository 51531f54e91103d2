"""Test-set metrics and plot data for regression. Pure functions, no IO.

A residual is always `actual - predicted`: positive means the model predicted too low.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    median_absolute_error,
    r2_score,
)

from lifecycle.metrics.rounding import rounded

# The headline scores of a regressor, in the order reports and the model card list them.
HEADLINE_METRICS = ("r2", "rmse", "mae", "mse", "median_absolute_error")
# Which way each metric improves: R² up, every error down.
HIGHER_IS_BETTER = frozenset({"r2"})
LOWER_IS_BETTER = frozenset(HEADLINE_METRICS) - HIGHER_IS_BETTER


def _arrays(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of equal length, so a pandas index or an int target cannot misalign."""
    actual, predicted = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if actual.shape != predicted.shape or actual.ndim != 1:
        raise ValueError(f"y_true {actual.shape} and y_pred {predicted.shape} must be 1-d and of equal length")
    return actual, predicted


def score_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """The numeric headline scores (exactly HEADLINE_METRICS): what cross-validation averages.

    RMSE is the square root of MSE, computed here rather than by a scikit-learn helper
    whose name and signature changed across versions. R² is relative to predicting the
    test mean, so it is 0 for that and negative for anything worse.
    """
    actual, predicted = _arrays(y_true, y_pred)
    mse = mean_squared_error(actual, predicted)
    return {
        "r2": rounded(r2_score(actual, predicted)),
        "rmse": rounded(np.sqrt(mse)),
        "mae": rounded(mean_absolute_error(actual, predicted)),
        "mse": rounded(mse),
        "median_absolute_error": rounded(median_absolute_error(actual, predicted)),
    }


def test_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, object]:
    """Headline scores plus the scale they are read against: rows, the target's mean and
    (population) standard deviation, so an RMSE can be compared with the spread it
    explains, and the mean residual, which is the model's bias (0 = unbiased on average).
    """
    actual, predicted = _arrays(y_true, y_pred)
    return {
        **score_metrics(actual, predicted),
        "rows": int(len(actual)),
        "target_mean": rounded(np.mean(actual)),
        "target_std": rounded(np.std(actual)),
        "residual_mean": rounded(np.mean(actual - predicted)),
    }


# pytest would otherwise collect `test_metrics` from any test module that imports it.
test_metrics.__test__ = False  # type: ignore[attr-defined]


def prediction_points(y_true: np.ndarray, y_pred: np.ndarray, max_points: int, seed: int) -> list[dict[str, float]]:
    """(actual, predicted, residual) of at most `max_points` test rows, for `dvc plots`
    scatters of predicted against actual and of residual against predicted.

    A seeded random sample rather than evenly spaced rows: test rows are often ordered
    (by time, by id), and a stride would pick a pattern. The sample keeps input order and
    depends only on the row count, `max_points` and `seed`, so re-runs give the same file.
    """
    actual, predicted = _arrays(y_true, y_pred)
    rows = np.arange(len(actual))
    if len(rows) > max_points:
        sample = np.random.default_rng(seed).choice(len(rows), size=max_points, replace=False)
        rows = np.sort(sample)
    return [
        {
            "actual": rounded(actual[i]),
            "predicted": rounded(predicted[i]),
            "residual": rounded(actual[i] - predicted[i]),
        }
        for i in rows
    ]


def residual_histogram(y_true: np.ndarray, y_pred: np.ndarray, bins: int) -> list[dict[str, float]]:
    """Counts of residuals in `bins` equal-width bins over their range, every row counted.

    Each bin gives its centre (`residual`, the x of a bar plot) and its edges, so a
    reader can tell which bins a skewed or heavy-tailed error distribution fills.
    """
    actual, predicted = _arrays(y_true, y_pred)
    counts, edges = np.histogram(actual - predicted, bins=bins)
    return [
        {
            "residual": rounded((edges[i] + edges[i + 1]) / 2),
            "count": int(count),
            "left": rounded(edges[i]),
            "right": rounded(edges[i + 1]),
        }
        for i, count in enumerate(counts)
    ]
