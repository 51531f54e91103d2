"""Baselines: is the model better than predicting the prior, or than a plain linear model?

One pair per task: a constant (the train prior, or the train mean) that any model must
beat to have learnt anything, and a plain linear model that a complex one should beat to
earn its complexity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle.tasks import model_scores, score_metrics

Factory = Callable[[int], BaseEstimator]

# Featurize output has no missing values (imputed numbers, a -1 code for unseen
# categories), so the linear baseline reads the same matrix the model does; it scales
# it first because ordinal category codes are not standardised.
_CLASSIFIERS: dict[str, Factory] = {
    "prior": lambda seed: DummyClassifier(strategy="prior"),
    "logistic_regression": lambda seed: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    ),
}
# Multiclass uses the same two models: the prior predicts every class's train share, and
# LogisticRegression fits a multinomial model when it sees more than two classes.
# Ridge rather than plain least squares: one-hot or ordinal codes can be collinear, which
# leaves least squares unstable, and alpha=1 on standardised features barely shrinks.
BASELINES: dict[str, dict[str, Factory]] = {
    "binary": _CLASSIFIERS,
    "multiclass": _CLASSIFIERS,
    "regression": {
        "mean": lambda seed: DummyRegressor(strategy="mean"),
        "linear_regression": lambda seed: make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
    },
}

# A few headline scores per task, not all: the baselines are a sanity line in the report,
# and these cover ranking or fit (ROC-AUC, r2), the hard decision and the loss. Binary
# keeps the threshold-free scores only, since a baseline has no decision threshold.
BASELINE_METRICS = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier"),
    "multiclass": ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}


def baseline_metrics(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    seed: int,
    task: str = "binary",
) -> dict[str, dict[str, float]]:
    """Test metrics (BASELINE_METRICS[task]) of each baseline of `task`, fitted on the same
    train features: prior and logistic_regression for classification, mean and
    linear_regression (ridge) for regression. The names are the model's metric names, so
    `lift` can subtract them.
    """
    if task not in BASELINES:
        raise ValueError(f"unknown task {task!r}; expected one of {tuple(BASELINES)}")
    results = {}
    for name, make in BASELINES[task].items():
        fitted = make(seed).fit(X_train, y_train)
        classes = getattr(fitted, "classes_", None)
        scores = score_metrics(task, y_test, model_scores(fitted, X_test, task, classes), classes)
        results[name] = {metric: scores[metric] for metric in BASELINE_METRICS[task]}
    return results


def lift(
    model: dict[str, float], baselines: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Model minus baseline for every shared metric, whatever the task.

    The sign is never flipped, so a positive lift is better for scores (ROC-AUC, F1, R²)
    and a negative lift is the improvement for the losses in evaluation.LOWER_IS_BETTER (log_loss,
    brier, rmse, mae, ...): lift stays a plain difference that a reader can check by hand.
    """
    return {
        name: {metric: round(model[metric] - value, 6) for metric, value in scores.items()}
        for name, scores in baselines.items()
    }
