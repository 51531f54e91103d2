"""Cross-validation on the train split: folds that follow the split, scores of every fold, and
out-of-fold predictions (what the decision threshold and calibration are chosen on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold, TimeSeriesSplit

from lifecycle.config import TrainSettings
from lifecycle.metrics.rounding import rounded
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY
from lifecycle.training.families import build_estimator


def cv_splitter(split_method: str, folds: int, seed: int, task: Task = BINARY) -> BaseCrossValidator:
    """Time-ordered folds for a time split (rows must be in time order), else shuffled
    k-fold, stratified by class for classification.

    With time folds each fold trains on the earliest rows and validates on the next
    block, so validation never scores rows older than the model's training data.
    """
    if split_method == "time":
        return TimeSeriesSplit(n_splits=folds)
    if not task.classification:
        return KFold(n_splits=folds, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


@dataclass
class CrossValidation:
    """Per-metric mean and std over folds, and out-of-fold validation scores.

    `oof` holds what the task's `model_scores` returns for each row a fold validates, and NaN
    for rows no fold validates (the first block of time folds).
    """

    summary: dict[str, dict[str, float]]
    oof: np.ndarray

    @property
    def validated(self) -> np.ndarray:
        """Which rows have an out-of-fold score."""
        return ~np.isnan(self.oof.reshape(len(self.oof), -1)).any(axis=1)


def cross_validation(
    X: pd.DataFrame,
    y: pd.Series,
    settings: TrainSettings,
    categorical: list[str],
    splitter: BaseCrossValidator,
    task: Task = BINARY,
    classes: Sequence[object] | None = None,
) -> CrossValidation:
    """Fit one model per fold; score its training and validation rows.

    `classes` are the class labels in model-output order (None for regression).
    """
    scores: dict[str, list[float]] = {}
    oof = task.no_scores(len(X), classes or [])
    for train_rows, validation_rows in splitter.split(X, y):
        model = build_estimator(settings, categorical, task).fit(X.iloc[train_rows], y.iloc[train_rows])
        for label, rows in (("train", train_rows), ("validation", validation_rows)):
            predicted = task.model_scores(model, X.iloc[rows], classes)
            metrics = task.score_metrics(y.iloc[rows].to_numpy(), predicted, classes)
            for name, value in metrics.items():
                scores.setdefault(f"{label}_{name}", []).append(value)
            if label == "validation":
                oof[rows] = predicted
    summary = {
        name: {"mean": rounded(np.mean(v)), "std": rounded(np.std(v))}
        for name, v in sorted(scores.items())
    }
    return CrossValidation(summary=summary, oof=oof)
