"""The five model families, each in a classifier and a regressor flavour from the same params keys."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from lifecycle.config import FAMILY_PARAMS, ModelFamily, TrainSettings
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY

# Hyper-parameters that only a classifier has; the regression flavour of a family omits them.
_CLASSIFIER_ONLY = {"class_weight", "criterion"}


def _regression_params(params: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in params.items() if k not in _CLASSIFIER_ONLY}


def build_estimator(settings: TrainSettings, categorical: list[str], task: Task = BINARY) -> BaseEstimator:
    """The unfitted estimator for `settings.model` and the task, seeded, with its hyper-parameters.

    Each family has a classifier and a regressor flavour sharing the same params keys, so
    `dvc exp run -S train.model=...` works for every task. For regression the linear
    family is ridge regression with `alpha = 1 / C` (C keeps its meaning: less
    regularisation as it grows), and trees split on squared error. `categorical` names
    ordinal-coded columns; gradient boosting treats them as native categories.
    """
    seed = settings.seed
    regression = not task.classification
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


def family_settings(settings: TrainSettings, family: ModelFamily, chosen: dict[str, Any]) -> TrainSettings:
    """`settings` with `family` as the model and the `chosen` values (a search's) over
    `train.<family>`'s; a value of the wrong type fails as the params would."""
    params = FAMILY_PARAMS[family].model_validate({**settings.family_params(family).model_dump(), **chosen})
    return settings.model_copy(update={"model": family, family: params})


def fit_estimator(
    settings: TrainSettings, categorical: list[str], task: Task, X: pd.DataFrame, y: pd.Series
) -> BaseEstimator:
    """`build_estimator`'s estimator fitted on (X, y), then set to predict on one thread.

    Why one thread: a forest fitted on `n_jobs` threads also predicts on them, adding each
    tree's probabilities into the sum in whichever order the threads finish. The same rows
    then scored differently in the last bit from one call to the next (3.3e-16 measured),
    so the evaluation's predictions and the service's answers changed between runs. The fit
    keeps its threads; a prediction sums the trees in one order.
    """
    model = build_estimator(settings, categorical, task).fit(X, y)
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=1)
    return model
