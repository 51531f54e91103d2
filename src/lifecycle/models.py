"""Model families, fitting with learning curves, and cross-validation. No IO here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold, TimeSeriesSplit
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier

from lifecycle.config import TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import rounded, score_metrics

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


def cv_splitter(split_method: str, folds: int, seed: int) -> BaseCrossValidator:
    """Time-ordered folds for a time split (rows must be in time order), else stratified k-fold.

    With time folds each fold trains on the earliest rows and validates on the next
    block, so validation never scores rows older than the model's training data.
    """
    if split_method == "time":
        return TimeSeriesSplit(n_splits=folds)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


@dataclass
class CrossValidation:
    """Per-metric mean and std over folds, and out-of-fold validation probabilities.

    `oof_probability` is NaN for rows no fold validates (the first block of time folds).
    """

    summary: dict[str, dict[str, float]]
    oof_probability: np.ndarray


def cross_validation(
    X: pd.DataFrame,
    y: pd.Series,
    settings: TrainSettings,
    categorical: list[str],
    splitter: BaseCrossValidator,
) -> CrossValidation:
    """Fit one model per fold; score its training and validation rows."""
    scores: dict[str, list[float]] = {}
    oof = np.full(len(X), np.nan)
    for train_rows, validation_rows in splitter.split(X, y):
        model = build_estimator(settings, categorical).fit(X.iloc[train_rows], y.iloc[train_rows])
        for label, rows in (("train", train_rows), ("validation", validation_rows)):
            probability = model.predict_proba(X.iloc[rows])[:, 1]
            for name, value in score_metrics(y.iloc[rows].to_numpy(), probability).items():
                scores.setdefault(f"{label}_{name}", []).append(value)
            if label == "validation":
                oof[rows] = probability
    summary = {
        name: {"mean": rounded(np.mean(v)), "std": rounded(np.std(v))}
        for name, v in sorted(scores.items())
    }
    return CrossValidation(summary=summary, oof_probability=oof)


def learning_curve(
    X: pd.DataFrame,
    y: pd.Series,
    settings: TrainSettings,
    categorical: list[str],
    splitter: BaseCrossValidator,
    metric: str = "roc_auc",
) -> list[dict[str, float]]:
    """Mean train and validation `metric` per training-set size, over the CV folds.

    Runs on an order-preserving sample of `settings.learning_curve.rows` rows. Each size
    keeps the most recent `fraction` of a fold's training rows (for time folds these
    are the rows closest to the validation block).
    """
    curve = settings.learning_curve
    if len(X) > curve.rows:
        keep = np.sort(np.random.default_rng(settings.seed).choice(len(X), curve.rows, replace=False))
        X, y = X.iloc[keep], y.iloc[keep]
    folds = list(splitter.split(X, y))
    points = []
    for fraction in sorted(curve.fractions):
        train_scores, validation_scores, sizes = [], [], []
        for train_rows, validation_rows in folds:
            used = train_rows[len(train_rows) - max(2, int(round(fraction * len(train_rows)))):]
            if y.iloc[used].nunique() < 2:
                continue
            model = build_estimator(settings, categorical).fit(X.iloc[used], y.iloc[used])
            train_scores.append(score_metrics(y.iloc[used].to_numpy(), model.predict_proba(X.iloc[used])[:, 1])[metric])
            validation_scores.append(
                score_metrics(y.iloc[validation_rows].to_numpy(), model.predict_proba(X.iloc[validation_rows])[:, 1])[metric]
            )
            sizes.append(len(used))
        if sizes:
            points.append(
                {
                    "train_size": int(np.mean(sizes)),
                    "train_score": rounded(np.mean(train_scores)),
                    "validation_score": rounded(np.mean(validation_scores)),
                }
            )
    return points
