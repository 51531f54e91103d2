"""The learning curve: cross-validated train and validation scores as the training set grows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from lifecycle.config import TrainSettings
from lifecycle.metrics.rounding import rounded
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY
from lifecycle.training.families import build_estimator


def learning_curve(
    X: pd.DataFrame,
    y: pd.Series,
    settings: TrainSettings,
    categorical: list[str],
    splitter: BaseCrossValidator,
    task: Task = BINARY,
    classes: Sequence[object] | None = None,
) -> list[dict[str, float]]:
    """Mean train and validation score (the task's default metric) per training-set size,
    over the CV folds.

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
            if task.classification and y.iloc[used].nunique() < 2:
                continue
            model = build_estimator(settings, categorical, task).fit(X.iloc[used], y.iloc[used])
            for rows, collected in ((used, train_scores), (validation_rows, validation_scores)):
                predicted = task.model_scores(model, X.iloc[rows], classes)
                scores = task.score_metrics(y.iloc[rows].to_numpy(), predicted, classes)
                collected.append(scores[task.default_metric])
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
