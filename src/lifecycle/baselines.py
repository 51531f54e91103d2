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

from lifecycle import multiclass_metrics, regression_metrics
from lifecycle.evaluation import (  # noqa: F401  (LOWER_IS_BETTER is re-exported: see lift)
    LOWER_IS_BETTER,
    probability_metrics,
)

# LOWER_IS_BETTER names the losses (log_loss, brier, mse, rmse, mae, median_absolute_error),
# for which a lower value, so a negative lift, is better. The review's arrows read the same
# set, so it is defined once, in lifecycle.evaluation, and imported here for lift's readers.

Factory = Callable[[int], BaseEstimator]

# Featurize output has no missing values (imputed numbers, a -1 code for unseen
# categories), so the linear baseline reads the same matrix the model does; it scales
# it first because ordinal category codes are not standardised.
BASELINES: dict[str, Factory] = {
    "prior": lambda seed: DummyClassifier(strategy="prior"),
    "logistic_regression": lambda seed: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    ),
}
# Multiclass uses the same two models: the prior predicts every class's train share, and
# LogisticRegression fits a multinomial model when it sees more than two classes.
MULTICLASS_BASELINES: dict[str, Factory] = BASELINES
# Ridge rather than plain least squares: one-hot or ordinal codes can be collinear, which
# leaves least squares unstable, and alpha=1 on standardised features barely shrinks.
REGRESSION_BASELINES: dict[str, Factory] = {
    "mean": lambda seed: DummyRegressor(strategy="mean"),
    "linear_regression": lambda seed: make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
}

# A few headline scores per task, not all: the baselines are a sanity line in the report,
# and these cover ranking or fit (roc_auc_ovr, r2), the hard decision and the loss.
MULTICLASS_BASELINE_METRICS = ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss")
REGRESSION_BASELINE_METRICS = ("r2", "rmse", "mae")

TASKS = ("binary", "multiclass", "regression")


def _multiclass(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, y_test: np.ndarray, seed: int
) -> dict[str, dict[str, float]]:
    results = {}
    for name, make in MULTICLASS_BASELINES.items():
        fitted = make(seed).fit(X_train, y_train)
        probability = fitted.predict_proba(X_test)
        scores = multiclass_metrics.score_metrics(y_test, probability, fitted.classes_)
        results[name] = {metric: scores[metric] for metric in MULTICLASS_BASELINE_METRICS}
    return results


def _regression(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, y_test: np.ndarray, seed: int
) -> dict[str, dict[str, float]]:
    results = {}
    for name, make in REGRESSION_BASELINES.items():
        predicted = make(seed).fit(X_train, y_train).predict(X_test)
        scores = regression_metrics.score_metrics(y_test, predicted)
        results[name] = {metric: scores[metric] for metric in REGRESSION_BASELINE_METRICS}
    return results


def baseline_metrics(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    seed: int,
    task: str = "binary",
) -> dict[str, dict[str, float]]:
    """Test metrics of each baseline of `task`, fitted on the same train features.

    binary: prior and logistic_regression, threshold-free scores (ROC-AUC, average
    precision, log loss, Brier). multiclass: the same two models, scored by
    MULTICLASS_BASELINE_METRICS. regression: mean and linear_regression (Ridge), scored by
    REGRESSION_BASELINE_METRICS. The names are the model's metric names, so `lift` can
    subtract them.
    """
    if task == "binary":
        return {
            name: probability_metrics(
                y_test, make(seed).fit(X_train, y_train).predict_proba(X_test)[:, 1]
            )
            for name, make in BASELINES.items()
        }
    if task == "multiclass":
        return _multiclass(X_train, y_train, X_test, y_test, seed)
    if task == "regression":
        return _regression(X_train, y_train, X_test, y_test, seed)
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def lift(
    model: dict[str, float], baselines: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Model minus baseline for every shared metric, whatever the task.

    The sign is never flipped, so a positive lift is better for scores (ROC-AUC, F1, R²)
    and a negative lift is the improvement for the losses in LOWER_IS_BETTER (log_loss,
    brier, rmse, mae, ...): lift stays a plain difference that a reader can check by hand.
    """
    return {
        name: {metric: round(model[metric] - value, 6) for metric, value in scores.items()}
        for name, scores in baselines.items()
    }
