"""What the evaluate stage writes, per task: metrics, plot data, figures, test predictions.

Pure: each function takes the test labels and the model's scores and returns an
`Evaluation`; the stage only writes it. Binary classification keeps its ROC,
precision-recall, calibration and 2×2 confusion plots; multiclass gets the per-class
report and the k×k confusion; regression gets predicted-vs-actual and residual plots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle.evaluation import figures
from lifecycle.metrics import multiclass as multiclass_metrics, regression as regression_metrics
from lifecycle.config import EvaluateSettings
from lifecycle.metrics.binary import calibration_points, classification_metrics, confusion_rows, precision_recall_points, roc_points, threshold_metrics

# Points kept in the regression scatter plot data (a small, diffable file).
SCATTER_POINTS = 500
HISTOGRAM_BINS = 30


@dataclass
class Evaluation:
    """Test metrics, plot data (file name -> rows), figures (name -> draw into a path), predictions."""

    metrics: dict[str, object]
    plots: dict[str, list[dict[str, object]] | pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)


def evaluate_binary(
    y: np.ndarray, probability: np.ndarray, threshold: float, settings: EvaluateSettings
) -> Evaluation:
    """Metrics at the chosen threshold and at 0.5, ROC, precision-recall, calibration, confusion."""
    metrics = classification_metrics(y, probability, threshold)
    metrics["at_0_5"] = threshold_metrics(y, probability, 0.5)
    predicted = (probability >= threshold).astype(int)
    roc = roc_points(y, probability, settings.curve_points)
    pr = precision_recall_points(y, probability, settings.curve_points)
    calibration = calibration_points(y, probability, settings.calibration_bins)
    return Evaluation(
        metrics=metrics,
        plots={
            "roc.json": roc,
            "precision_recall.json": pr,
            "calibration.json": calibration,
            "confusion.csv": confusion_rows(y, predicted),
        },
        figures={
            "roc": partial(figures.roc_figure, {"model": roc}),
            "precision_recall": partial(figures.precision_recall_figure, {"model": pr}, metrics["positive_rate"]),
            "calibration": partial(figures.calibration_figure, {"model": calibration}),
            "confusion": partial(figures.confusion_figure, metrics["confusion"]),
        },
        predictions=pd.DataFrame({"prediction": predicted, "probability": probability}),
    )


def evaluate_multiclass(y: np.ndarray, probability: np.ndarray, classes: Sequence[object]) -> Evaluation:
    """Macro and weighted scores, one-vs-rest ROC-AUC, the per-class report, the k×k confusion."""
    metrics = multiclass_metrics.test_metrics(y, probability, classes)
    predicted = multiclass_metrics.predicted_labels(probability, classes)
    confusion = metrics["confusion"]
    predictions = pd.DataFrame({"prediction": predicted, "probability": probability.max(axis=1)})
    for index, label in enumerate(classes):
        predictions[f"probability_{label}"] = probability[:, index]
    return Evaluation(
        metrics=metrics,
        plots={"confusion.csv": multiclass_metrics.confusion_rows(y, predicted)},
        figures={
            "confusion": partial(figures.class_confusion_figure, confusion["labels"], confusion["matrix"]),
        },
        predictions=predictions,
    )


def evaluate_regression(y: np.ndarray, predicted: np.ndarray, seed: int) -> Evaluation:
    """MSE, RMSE, MAE, R², median absolute error; predicted-vs-actual and residual plots."""
    points = regression_metrics.prediction_points(y, predicted, SCATTER_POINTS, seed)
    histogram = regression_metrics.residual_histogram(y, predicted, HISTOGRAM_BINS)
    return Evaluation(
        metrics=regression_metrics.test_metrics(y, predicted),
        plots={"predictions.json": points, "residual_histogram.json": histogram},
        figures={
            "predicted_vs_actual": partial(figures.predicted_vs_actual_figure, {"model": points}),
            "residuals": partial(figures.residuals_figure, {"model": points}),
            "residual_histogram": partial(figures.residual_histogram_figure, {"model": histogram}),
        },
        predictions=pd.DataFrame({"prediction": predicted}),
    )
