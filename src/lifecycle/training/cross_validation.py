"""Cross-validation on the train split: folds that follow the split, scores of every fold, and
out-of-fold predictions (what the decision threshold and calibration are chosen on)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold, TimeSeriesSplit

from lifecycle.config import TrainSettings
from lifecycle.metrics.rounding import rounded
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY
from lifecycle.training.families import fit_estimator

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class ModelSpec:
    """What decides the model each fold fits: the family and its hyper-parameters, the
    feature columns that are category codes, the task and its classes (in model-output
    order; None for regression)."""

    settings: TrainSettings
    categorical: list[str] = field(default_factory=list)
    task: Task = BINARY
    classes: Sequence[object] | None = None


@dataclass(frozen=True)
class FoldScores:
    """A model fitted on a fold's training rows: the task's metrics on those rows and on the
    validation rows, and its scores for the validation rows."""

    train: dict[str, float]
    validation: dict[str, float]
    predicted: np.ndarray


def fit_fold(
    X: pd.DataFrame, y: pd.Series, spec: ModelSpec, train_rows: np.ndarray, validation_rows: np.ndarray
) -> FoldScores:
    """Fit `spec`'s estimator on `train_rows`; score its training and validation rows."""
    task = spec.task
    model = fit_estimator(spec.settings, spec.categorical, task, X.iloc[train_rows], y.iloc[train_rows])
    metrics = {}
    for label, rows in (("train", train_rows), ("validation", validation_rows)):
        predicted = task.model_scores(model, X.iloc[rows], spec.classes)
        metrics[label] = task.score_metrics(y.iloc[rows].to_numpy(), predicted, spec.classes)
    return FoldScores(metrics["train"], metrics["validation"], predicted)


def cross_validation(X: pd.DataFrame, y: pd.Series, spec: ModelSpec, splitter: BaseCrossValidator) -> CrossValidation:
    """Fit one model per fold; score its training and validation rows. Each fold logs a line:
    on a large table a fold takes tens of seconds, and a silent stage looks stuck."""
    scores: dict[str, list[float]] = {}
    oof = spec.task.no_scores(len(X), spec.classes or [])
    metric, folds = spec.task.default_metric, splitter.get_n_splits()
    for number, (train_rows, validation_rows) in enumerate(splitter.split(X, y), start=1):
        start = time.perf_counter()
        fold = fit_fold(X, y, spec, train_rows, validation_rows)
        logger.info(
            "cross-validation fold %d/%d: %s rows, validation %s %.4f in %.1f s",
            number,
            folds,
            f"{len(train_rows):,}",
            metric,
            fold.validation[metric],
            time.perf_counter() - start,
        )
        for label, metrics in (("train", fold.train), ("validation", fold.validation)):
            for name, value in metrics.items():
                scores.setdefault(f"{label}_{name}", []).append(value)
        oof[validation_rows] = fold.predicted
    summary = {name: {"mean": rounded(np.mean(v)), "std": rounded(np.std(v))} for name, v in sorted(scores.items())}
    return CrossValidation(summary=summary, oof=oof)
