"""Can the configured model learn from this table? Warnings that name the params to change.

A model tuned for one table can be unable to learn another: a tree whose smallest leaf
must hold more rows than half of a cross-validation fold never splits, and predicts a
constant. Train writes these warnings to its log and to metrics/train.json; evaluate's fit
diagnosis repeats them beside its verdict.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from lifecycle.config import TrainSettings
from lifecycle.tasks.base import Classes, Task

# A cross-validated score within this of the prior's is the prior's: the model learned nothing.
NO_BETTER = 0.001


def smallest_leaf_rows(settings: TrainSettings, rows: int) -> int | None:
    """The rows the configured family's smallest leaf must hold in a fit on `rows` rows, or None
    for a family without leaves."""
    leaf = getattr(settings.family_params(settings.model), "min_samples_leaf", None)
    if leaf is None:
        return None
    return leaf if isinstance(leaf, int) else math.ceil(leaf * rows)


def leaf_warnings(settings: TrainSettings, smallest_fold: int) -> list[str]:
    """A tree's smallest leaf above half of the smallest training fold: no split is possible."""
    leaf = smallest_leaf_rows(settings, smallest_fold)
    if leaf is None or 2 * leaf <= smallest_fold:
        return []
    family = settings.model
    return [
        f"train.{family}.min_samples_leaf ({settings.family_params(family).min_samples_leaf}) asks for leaves "
        f"of {leaf:,} rows, more than half of the smallest cross-validation training fold ({smallest_fold:,} "
        f"rows): the trees cannot split and predict a constant; lower train.{family}.min_samples_leaf or set "
        "search.enabled: true"
    ]


def prior_score(X: pd.DataFrame, y: pd.Series, task: Task, classes: Classes, splitter: BaseCrossValidator) -> float:
    """The task's prior baseline (the train share of each class, or the mean), scored on the
    same folds: what a model that learned nothing reaches."""
    prior = next(iter(task.baselines.values()))
    scores = []
    for train_rows, validation_rows in splitter.split(X, y):
        fitted = prior(0).fit(X.iloc[train_rows], y.iloc[train_rows])
        predicted = task.model_scores(fitted, X.iloc[validation_rows], classes)
        scores.append(task.score_metrics(y.iloc[validation_rows].to_numpy(), predicted, classes)[task.default_metric])
    return float(np.mean(scores))


def constant_warnings(settings: TrainSettings, metric: str, model: float, prior: float) -> list[str]:
    """The model scores no better than the prior in cross-validation."""
    if model > prior + NO_BETTER:
        return []
    family = settings.model
    return [
        f"the model's cross-validated {metric} ({model:.4f}) is no better than the prior's ({prior:.4f}): it "
        f"learned nothing from the features; check train.{family} (leaf sizes, learning rate, iterations, "
        "regularisation) or set search.enabled: true"
    ]
