"""Model families, fitting with learning curves, and cross-validation. No IO here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier

from lifecycle.config import TrainSettings
from lifecycle.errors import LifecycleError

CV_SCORING = ("roc_auc", "average_precision", "accuracy", "f1", "neg_log_loss")


def build_estimator(settings: TrainSettings, categorical: list[str]) -> ClassifierMixin:
    """The unfitted estimator for `settings.model`, seeded, with its hyper-parameters.

    `categorical` names ordinal-coded columns; gradient boosting treats them as native
    categories, the other families as numbers.
    """
    seed = settings.seed
    if settings.model == "logistic_regression":
        return LogisticRegression(**settings.logistic_regression.model_dump(), random_state=seed)
    if settings.model == "decision_tree":
        return DecisionTreeClassifier(**settings.decision_tree.model_dump(), random_state=seed)
    if settings.model == "random_forest":
        return RandomForestClassifier(**settings.random_forest.model_dump(), random_state=seed)
    if settings.model == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(
            **settings.hist_gradient_boosting.model_dump(),
            categorical_features=categorical or None,
            random_state=seed,
        )
    mlp = settings.mlp.model_dump()
    mlp["hidden_layer_sizes"] = tuple(mlp["hidden_layer_sizes"])
    return MLPClassifier(**mlp, random_state=seed)


@dataclass
class FitResult:
    """A fitted model and the per-iteration curves it exposes (empty lists if none)."""

    model: BaseEstimator
    curves: dict[str, list[float]] = field(default_factory=dict)


def learning_curves(model: BaseEstimator, X: pd.DataFrame, y: pd.Series) -> dict[str, list[float]]:
    """Per-iteration training curves where the family has them, else the final train loss.

    Gradient boosting records the loss on its train and early-stopping validation data;
    the MLP records its training loss and validation accuracy. Other families are fitted
    in one go, so they get a single point: the log loss on the training data.
    """
    if isinstance(model, HistGradientBoostingClassifier):
        curves = {"train/log_loss": [-float(s) for s in model.train_score_]}
        if len(model.validation_score_):
            curves["validation/log_loss"] = [-float(s) for s in model.validation_score_]
        return curves
    if isinstance(model, MLPClassifier):
        curves = {"train/log_loss": [float(v) for v in model.loss_curve_]}
        if model.validation_scores_ is not None:
            curves["validation/accuracy"] = [float(v) for v in model.validation_scores_]
        return curves
    return {"train/log_loss": [float(log_loss(y, model.predict_proba(X)))]}


def fit_model(X: pd.DataFrame, y: pd.Series, settings: TrainSettings, categorical: list[str]) -> FitResult:
    """Fit the configured family on (X, y) and collect its learning curves."""
    if len(X) == 0:
        raise LifecycleError("train: no training rows")
    if y.nunique() < 2:
        raise LifecycleError("train: the training target has a single class")
    model = build_estimator(settings, categorical).fit(X, y)
    return FitResult(model=model, curves=learning_curves(model, X, y))


def cross_validation(
    X: pd.DataFrame, y: pd.Series, settings: TrainSettings, categorical: list[str]
) -> dict[str, dict[str, float]]:
    """Stratified k-fold scores on the train split: mean and std per metric, train and validation."""
    folds = StratifiedKFold(n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed)
    estimator = clone(build_estimator(settings, categorical))
    scores = cross_validate(estimator, X, y, cv=folds, scoring=list(CV_SCORING), return_train_score=True)
    summary = {}
    for metric in CV_SCORING:
        name = metric.removeprefix("neg_")
        sign = -1.0 if metric.startswith("neg_") else 1.0
        for split in ("train", "test"):
            values = sign * np.asarray(scores[f"{split}_{metric}"], dtype=float)
            label = "validation" if split == "test" else "train"
            summary[f"{label}_{name}"] = {
                "mean": round(float(values.mean()), 6),
                "std": round(float(values.std()), 6),
            }
    return summary
