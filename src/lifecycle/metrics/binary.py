"""Metrics and plot data of a binary classifier's positive-class probabilities. Pure functions, no IO."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from lifecycle.metrics.rounding import rounded

# The headline scores of a binary classifier, in the order reports and the model card list them.
HEADLINE_METRICS = ("roc_auc", "average_precision", "accuracy", "precision", "recall", "f1", "log_loss", "brier")

# Which way each metric improves (a name in neither set, such as rows or threshold, has no direction).
HIGHER_IS_BETTER = frozenset({"roc_auc", "average_precision", "accuracy", "precision", "recall", "f1"})
LOWER_IS_BETTER = frozenset({"log_loss", "brier"})


def probability_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Threshold-free scores: ranking (ROC-AUC, average precision) and probability quality."""
    return {
        "roc_auc": rounded(roc_auc_score(y_true, probability)),
        "average_precision": rounded(average_precision_score(y_true, probability)),
        "log_loss": rounded(log_loss(y_true, probability, labels=[0, 1])),
        "brier": rounded(brier_score_loss(y_true, probability)),
    }


def threshold_metrics(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, object]:
    """Scores of the labels `probability >= threshold`, with the confusion counts."""
    predicted = (probability >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y_true, predicted, labels=[0, 1]).ravel()
    return {
        "threshold": rounded(threshold),
        "accuracy": rounded(accuracy_score(y_true, predicted)),
        "precision": rounded(precision_score(y_true, predicted, zero_division=0)),
        "recall": rounded(recall_score(y_true, predicted, zero_division=0)),
        "f1": rounded(f1_score(y_true, predicted, zero_division=0)),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def classification_metrics(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, object]:
    """Threshold-free scores, scores at `threshold` (flattened), rows and positive rate."""
    at_threshold = threshold_metrics(y_true, probability, threshold)
    return {
        **probability_metrics(y_true, probability),
        **at_threshold,
        "rows": int(len(y_true)),
        "positive_rate": rounded(np.mean(y_true)),
    }


def score_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """The numeric headline scores (no confusion counts): what cross-validation averages."""
    scores = {**probability_metrics(y_true, probability), **threshold_metrics(y_true, probability, 0.5)}
    return {k: v for k, v in scores.items() if k not in ("confusion", "threshold")}


def _thin(frame: pd.DataFrame, points: int) -> list[dict[str, float]]:
    """Keep at most `points` evenly spaced rows (always the first and last) of a curve."""
    if len(frame) > points:
        frame = frame.iloc[np.unique(np.linspace(0, len(frame) - 1, points).round().astype(int))]
    return [{k: rounded(v) for k, v in row.items()} for row in frame.to_dict("records")]


def roc_points(y_true: np.ndarray, probability: np.ndarray, points: int) -> list[dict[str, float]]:
    """ROC curve (fpr, tpr, threshold) thinned to `points` rows for a small, diffable file."""
    fpr, tpr, thresholds = roc_curve(y_true, probability)
    thresholds = np.minimum(thresholds, 1.0)  # the first threshold is +inf by convention
    return _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds}), points)


def precision_recall_points(y_true: np.ndarray, probability: np.ndarray, points: int) -> list[dict[str, float]]:
    """Precision-recall curve thinned to `points` rows."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    frame = pd.DataFrame({"recall": recall[:-1], "precision": precision[:-1], "threshold": thresholds})
    return _thin(frame, points)


def calibration_points(y_true: np.ndarray, probability: np.ndarray, bins: int) -> list[dict[str, float]]:
    """Reliability curve: observed positive rate against mean predicted probability per bin."""
    fraction, mean_predicted = calibration_curve(y_true, probability, n_bins=bins, strategy="quantile")
    return [{"mean_predicted": rounded(p), "fraction_positive": rounded(f)} for p, f in zip(mean_predicted, fraction)]


def confusion_rows(y_true: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """One row per test example, the shape DVC's confusion template aggregates."""
    return pd.DataFrame({"actual": y_true.astype(int), "predicted": predicted.astype(int)})
