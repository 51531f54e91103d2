"""Model families in both flavours, fitting with learning curves, and cross-validation. No IO."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold, TimeSeriesSplit
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from lifecycle.config import TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import rounded
from lifecycle.tasks import model_scores, score_metrics

# Hyper-parameters that only a classifier has; the regression flavour of a family omits them.
_CLASSIFIER_ONLY = {"class_weight", "criterion"}


def _regression_params(params: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in params.items() if k not in _CLASSIFIER_ONLY}


def build_estimator(settings: TrainSettings, categorical: list[str], task: str = "binary") -> BaseEstimator:
    """The unfitted estimator for `settings.model` and the task, seeded, with its hyper-parameters.

    Each family has a classifier and a regressor flavour sharing the same params keys, so
    `dvc exp run -S train.model=...` works for every task. For regression the linear
    family is ridge regression with `alpha = 1 / C` (C keeps its meaning: less
    regularisation as it grows), and trees split on squared error. `categorical` names
    ordinal-coded columns; gradient boosting treats them as native categories.
    """
    seed = settings.seed
    regression = task == "regression"
    if settings.model == "logistic_regression":
        linear = settings.logistic_regression
        if regression:
            return Ridge(alpha=1.0 / linear.C, max_iter=linear.max_iter, random_state=seed)
        return LogisticRegression(**linear.model_dump(), random_state=seed)
    if settings.model == "decision_tree":
        tree = settings.decision_tree.model_dump()
        if regression:
            return DecisionTreeRegressor(**_regression_params(tree), random_state=seed)
        return DecisionTreeClassifier(**tree, random_state=seed)
    if settings.model == "random_forest":
        forest = settings.random_forest.model_dump()
        if regression:
            return RandomForestRegressor(**_regression_params(forest), random_state=seed)
        return RandomForestClassifier(**forest, random_state=seed)
    if settings.model == "hist_gradient_boosting":
        boosting = settings.hist_gradient_boosting.model_dump()
        family = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        boosting = _regression_params(boosting) if regression else boosting
        return family(**boosting, categorical_features=categorical or None, random_state=seed)
    mlp = settings.mlp.model_dump()
    mlp["hidden_layer_sizes"] = tuple(mlp["hidden_layer_sizes"])
    return (MLPRegressor if regression else MLPClassifier)(**mlp, random_state=seed)


@dataclass
class FitResult:
    """A fitted model and the per-iteration curves it exposes (empty lists if none)."""

    model: BaseEstimator
    curves: dict[str, list[float]] = field(default_factory=dict)


def learning_curves(model: BaseEstimator, X: pd.DataFrame, y: pd.Series) -> dict[str, list[float]]:
    """Per-iteration training curves where the family has them, else the final train loss.

    Gradient boosting records the loss on its train and early-stopping validation data;
    the MLP records its training loss and validation score (accuracy or R²). Other
    families are fitted in one go, so they get a single point: the log loss (or squared
    error) on the training data.
    """
    classifier = hasattr(model, "predict_proba")
    loss = "log_loss" if classifier else "squared_error"
    if isinstance(model, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
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


def fit_model(
    X: pd.DataFrame, y: pd.Series, settings: TrainSettings, categorical: list[str], task: str = "binary"
) -> FitResult:
    """Fit the configured family on (X, y) and collect its learning curves."""
    if len(X) == 0:
        raise LifecycleError("train: no training rows")
    if task != "regression" and y.nunique() < 2:
        raise LifecycleError("train: the training target has a single class")
    model = build_estimator(settings, categorical, task).fit(X, y)
    return FitResult(model=model, curves=learning_curves(model, X, y))


def cv_splitter(split_method: str, folds: int, seed: int, task: str = "binary") -> BaseCrossValidator:
    """Time-ordered folds for a time split (rows must be in time order), else shuffled
    k-fold, stratified by class for classification.

    With time folds each fold trains on the earliest rows and validates on the next
    block, so validation never scores rows older than the model's training data.
    """
    if split_method == "time":
        return TimeSeriesSplit(n_splits=folds)
    if task == "regression":
        return KFold(n_splits=folds, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


@dataclass
class CrossValidation:
    """Per-metric mean and std over folds, and out-of-fold validation scores.

    `oof` holds what `tasks.model_scores` returns for each row a fold validates, and NaN
    for rows no fold validates (the first block of time folds).
    """

    summary: dict[str, dict[str, float]]
    oof: np.ndarray

    @property
    def validated(self) -> np.ndarray:
        """Which rows have an out-of-fold score."""
        return ~np.isnan(self.oof.reshape(len(self.oof), -1)).any(axis=1)


@dataclass(frozen=True)
class TaskSpec:
    """The task and, for classification, the class labels in model-output order."""

    task: str = "binary"
    classes: Sequence[object] | None = None


def cross_validation(
    X: pd.DataFrame,
    y: pd.Series,
    settings: TrainSettings,
    categorical: list[str],
    splitter: BaseCrossValidator,
    spec: TaskSpec = TaskSpec(),
) -> CrossValidation:
    """Fit one model per fold; score its training and validation rows."""
    scores: dict[str, list[float]] = {}
    width = len(spec.classes) if spec.task == "multiclass" and spec.classes else None
    oof = np.full((len(X), width) if width else len(X), np.nan)
    for train_rows, validation_rows in splitter.split(X, y):
        model = build_estimator(settings, categorical, spec.task).fit(X.iloc[train_rows], y.iloc[train_rows])
        for label, rows in (("train", train_rows), ("validation", validation_rows)):
            predicted = model_scores(model, X.iloc[rows], spec.task, spec.classes)
            metrics = score_metrics(spec.task, y.iloc[rows].to_numpy(), predicted, spec.classes)
            for name, value in metrics.items():
                scores.setdefault(f"{label}_{name}", []).append(value)
            if label == "validation":
                oof[rows] = predicted
    summary = {
        name: {"mean": rounded(np.mean(v)), "std": rounded(np.std(v))}
        for name, v in sorted(scores.items())
    }
    return CrossValidation(summary=summary, oof=oof)


def learning_curve(
    X: pd.DataFrame,
    y: pd.Series,
    settings: TrainSettings,
    categorical: list[str],
    splitter: BaseCrossValidator,
    metric: str = "roc_auc",
    spec: TaskSpec = TaskSpec(),
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
            if spec.task != "regression" and y.iloc[used].nunique() < 2:
                continue
            model = build_estimator(settings, categorical, spec.task).fit(X.iloc[used], y.iloc[used])
            for rows, collected in ((used, train_scores), (validation_rows, validation_scores)):
                predicted = model_scores(model, X.iloc[rows], spec.task, spec.classes)
                collected.append(score_metrics(spec.task, y.iloc[rows].to_numpy(), predicted, spec.classes)[metric])
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
