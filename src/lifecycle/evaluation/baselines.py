"""Baselines: is the model better than predicting the prior, or than a plain linear model?

One pair per task (`Task.baselines`): a constant (the train prior, or the train mean) that any model must
beat to have learnt anything, and a plain linear model that a complex one should beat to
earn its complexity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY


def baseline_metrics(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    seed: int,
    task: Task = BINARY,
) -> dict[str, dict[str, float]]:
    """Test metrics (`task.baseline_metrics`) of each of the task's baselines, fitted on the
    same train features: prior and logistic_regression for classification, mean and
    linear_regression (ridge) for regression. The names are the model's metric names, so
    `lift` can subtract them.
    """
    results = {}
    for name, make in task.baselines.items():
        fitted = make(seed).fit(X_train, y_train)
        classes = getattr(fitted, "classes_", None)
        scores = task.score_metrics(y_test, task.model_scores(fitted, X_test, classes), classes)
        results[name] = {metric: scores[metric] for metric in task.baseline_metrics}
    return results


def lift(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Model minus baseline for every shared metric, whatever the task.

    The sign is never flipped, so a positive lift is better for scores (ROC-AUC, F1, R²)
    and a negative lift is the improvement for the losses (log_loss,
    brier, rmse, mae, ...): lift stays a plain difference that a reader can check by hand.
    """
    return {
        name: {metric: round(model[metric] - value, 6) for metric, value in scores.items()}
        for name, scores in baselines.items()
    }
