"""Fitting the configured family on the train split (or its seeded sample), and its
per-iteration training curves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.neural_network import MLPClassifier, MLPRegressor

from lifecycle.config import TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.sampling import read_sample
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY
from lifecycle.training.families import fit_estimator


def training_rows(features: Path, settings: TrainSettings) -> pd.DataFrame:
    """The rows train cross-validates and fits: the whole feature table at `features`, or a
    seeded sample of `train.max_rows` kept in the split's order (so time-ordered folds stay
    time-ordered). A sample of a folder of parts is read part by part, never whole."""
    return read_sample(features, settings.max_rows, settings.seed)


@dataclass
class FitResult:
    """A fitted model and the per-iteration curves it exposes (empty lists if none)."""

    model: BaseEstimator
    curves: dict[str, list[float]] = field(default_factory=dict)


def iteration_curves(model: BaseEstimator, X: pd.DataFrame, y: pd.Series) -> dict[str, list[float]]:
    """Per-iteration training curves where the family has them, else the final train loss.

    Gradient boosting with early stopping records the loss on its train and validation
    data (without it, scikit-learn records none); the MLP records its training loss and
    validation score (accuracy or R²). Other fits get a single point: the log loss (or
    squared error) on the training data.
    """
    classifier = hasattr(model, "predict_proba")
    loss = "log_loss" if classifier else "squared_error"
    if isinstance(model, HistGradientBoostingClassifier | HistGradientBoostingRegressor) and len(model.train_score_):
        curves = {f"train/{loss}": [-float(s) for s in model.train_score_]}
        if len(model.validation_score_):
            curves[f"validation/{loss}"] = [-float(s) for s in model.validation_score_]
        return curves
    if isinstance(model, MLPClassifier | MLPRegressor):
        curves = {f"train/{loss}": [float(v) for v in model.loss_curve_]}
        if model.validation_scores_ is not None:
            score = "accuracy" if classifier else "r2"
            curves[f"validation/{score}"] = [float(v) for v in model.validation_scores_]
        return curves
    if classifier:
        return {"train/log_loss": [float(log_loss(y, model.predict_proba(X), labels=model.classes_))]}
    return {"train/squared_error": [float(mean_squared_error(y, model.predict(X)))]}


def loss_rows(curves: dict[str, list[float]]) -> list[dict[str, float | None]]:
    """One row per iteration: the training loss and, where the family measured it, the same
    loss on its validation data (null otherwise; the MLP's validation *score* is not a loss)."""
    train_name = next(name for name in curves if name.startswith("train/"))
    validation = curves.get(train_name.replace("train/", "validation/", 1), [])
    return [
        {"step": step, "train": loss, "validation": validation[step] if step < len(validation) else None}
        for step, loss in enumerate(curves[train_name])
    ]


def fit_model(
    X: pd.DataFrame, y: pd.Series, settings: TrainSettings, categorical: list[str], task: Task = BINARY
) -> FitResult:
    """Fit the configured family on (X, y) and collect its learning curves."""
    if len(X) == 0:
        raise LifecycleError("train: no training rows")
    if task.classification and y.nunique() < 2:
        raise LifecycleError("train: the training target has a single class")
    model = fit_estimator(settings, categorical, task, X, y)
    return FitResult(model=model, curves=iteration_curves(model, X, y))
