"""The learning curve: cross-validated train and validation scores as the training set grows."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from lifecycle.metrics.rounding import rounded
from lifecycle.training.cross_validation import ModelSpec, fit_fold

logger = logging.getLogger(__name__)


def learning_curve(
    X: pd.DataFrame, y: pd.Series, spec: ModelSpec, splitter: BaseCrossValidator
) -> list[dict[str, float]]:
    """Mean train and validation score (the task's default metric) per training-set size,
    over the CV folds.

    Runs on an order-preserving sample of `settings.learning_curve.rows` rows. Each size
    keeps the most recent `fraction` of a fold's training rows (for time folds these
    are the rows closest to the validation block).
    """
    curve, metric = spec.settings.learning_curve, spec.task.default_metric
    if len(X) > curve.rows:
        keep = np.sort(np.random.default_rng(spec.settings.seed).choice(len(X), curve.rows, replace=False))
        X, y = X.iloc[keep], y.iloc[keep]
    folds = list(splitter.split(X, y))
    points = []
    fractions = sorted(curve.fractions)
    for number, fraction in enumerate(fractions, start=1):
        train_scores, validation_scores, sizes = [], [], []
        for train_rows, validation_rows in folds:
            used = train_rows[len(train_rows) - max(2, int(round(fraction * len(train_rows)))) :]
            if spec.task.classification and y.iloc[used].nunique() < 2:
                continue
            fold = fit_fold(X, y, spec, used, validation_rows)
            train_scores.append(fold.train[metric])
            validation_scores.append(fold.validation[metric])
            sizes.append(len(used))
        if sizes:
            points.append(
                {
                    "train_size": int(np.mean(sizes)),
                    "train_score": rounded(np.mean(train_scores)),
                    "validation_score": rounded(np.mean(validation_scores)),
                }
            )
            logger.info(
                "learning curve point %d/%d: %s rows, validation %s %.4f",
                number,
                len(fractions),
                f"{points[-1]['train_size']:,}",
                metric,
                points[-1]["validation_score"],
            )
    return points
