"""Binary classification: the probability of the positive class, and a decision threshold.

Labels are encoded 0/1 with `classes = [negative, positive]` (the original values), so
every binary metric and threshold reads "probability of class 1".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sklearn.base import BaseEstimator
from sklearn.metrics import f1_score, roc_auc_score

from lifecycle.artifacts import Label
from lifecycle.config import EvaluateSettings, TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import figures
from lifecycle.metrics import binary as binary_metrics
from lifecycle.metrics.rounding import rounded
from lifecycle.tasks.base import (
    Array,
    BeyondTrainingRange,
    Classes,
    Evaluation,
    PredictionMetric,
    SliceScore,
    UnknownCategories,
)
from lifecycle.tasks.classification import ClassificationTask, native, typed_labels

logger = logging.getLogger(__name__)


class BinaryPrediction(BaseModel):
    """A binary classifier's answer for one row."""

    label: Label = Field(
        description="The predicted class: the positive class (the second of /metadata's `classes`) "
        "when `probability` is at least the packaged threshold, else the negative class"
    )
    probability: float = Field(description="Probability of the positive class, in [0, 1]")
    unknown_categories: UnknownCategories
    beyond_training_range: BeyondTrainingRange


def decide(probability: np.ndarray, threshold: float) -> np.ndarray:
    """The class index of each positive-class probability: 1 at or above the threshold.

    The one decision rule of a binary model: evaluate, the bundle and the service use it.
    """
    return (np.asarray(probability) >= threshold).astype(np.int64)


def positive_label(values: pd.Series, target: TargetSettings) -> object:
    """The positive class of a binary target: as set, else 1 / true, else the second sorted value."""
    distinct = list(values.dropna().unique())
    if target.positive_label is not None:
        for value in distinct:
            if value == target.positive_label or str(value) == str(target.positive_label):
                return value
        raise LifecycleError(
            f"preprocess.target.positive_label {target.positive_label!r} is not a value of target "
            f"column {target.column!r}; its values are {sorted(map(str, distinct))}"
        )
    if set(map(str, distinct)) <= {"0", "1", "True", "False", "0.0", "1.0"}:
        return next(v for v in distinct if str(v) in ("1", "True", "1.0"))
    chosen = sorted(distinct, key=str)[1]
    logger.info(
        "binary target %r: positive label %r (the second of %s in sorted order; set "
        "preprocess.target.positive_label to choose)",
        target.column,
        chosen,
        sorted(map(str, distinct)),
    )
    return chosen


class BinaryTask(ClassificationTask):
    name = "binary"
    metrics = binary_metrics
    decision_threshold = True
    scores = ("roc_auc", "average_precision", "accuracy", "f1")
    default_metric = "roc_auc"
    # Threshold-free scores only: a baseline has no decision threshold.
    baseline_metrics = ("roc_auc", "average_precision", "log_loss", "brier")
    slice_ranked_by = "roc_auc"
    slices_need_two_classes = True  # ROC-AUC is undefined on a slice of one class
    review_figures = ("roc", "precision_recall", "calibration", "importance")
    reliability_note = (
        "Probabilities are as calibrated as the calibration plot shows; check it before treating them as frequencies."
    )
    answer = BinaryPrediction
    prediction_metric = PredictionMetric(
        "lifecycle_prediction_probability", "Predicted probability of the positive class", counts_classes=True
    )

    def check_target(self, values: pd.Series, target: TargetSettings) -> None:
        distinct = values.nunique()
        if distinct > 2:
            shown = sorted(map(str, values.unique()))[:5]
            raise LifecycleError(
                f"preprocess.target.task is binary, but target column {target.column!r} has "
                f"{distinct} distinct values (e.g. {shown}); use task multiclass or set a threshold"
            )

    def encode_label(self, label: pd.Series, target: TargetSettings) -> tuple[pd.Series, list[Any]]:
        positive = positive_label(label, target)
        negative = next(v for v in label.dropna().unique() if v != positive)
        return (label == positive).astype("int64"), [native(negative), native(positive)]

    def target_summary(self, label: pd.Series) -> dict[str, Any]:
        return {"positive_rate": round(float(label.mean()), 6)}

    def model_scores(self, model: BaseEstimator, X: Any, classes: Classes) -> np.ndarray:
        return model.predict_proba(X)[:, 1]

    def score_metrics(self, y_true: np.ndarray, scores: np.ndarray, classes: Classes) -> dict[str, float]:
        return binary_metrics.score_metrics(y_true, scores)

    def evaluate(
        self, y_true: Array, scores: Array, classes: Classes, threshold: float | None, settings: EvaluateSettings
    ) -> Evaluation:
        """Metrics at the chosen threshold and at 0.5, ROC, precision-recall, calibration, confusion."""
        assert threshold is not None
        result = binary_metrics.classification_metrics(y_true, scores, threshold)
        result["at_0_5"] = binary_metrics.threshold_metrics(y_true, scores, 0.5)
        predicted = decide(scores, threshold)
        roc = binary_metrics.roc_points(y_true, scores, settings.curve_points)
        pr = binary_metrics.precision_recall_points(y_true, scores, settings.curve_points)
        calibration = binary_metrics.calibration_points(y_true, scores, settings.calibration_bins)
        return Evaluation(
            metrics=result,
            plots={
                "roc.json": roc,
                "precision_recall.json": pr,
                "calibration.json": calibration,
                "confusion.csv": binary_metrics.confusion_rows(y_true, predicted),
            },
            figures={
                "roc": partial(figures.roc_figure, {"model": roc}),
                "precision_recall": partial(figures.precision_recall_figure, {"model": pr}, result["positive_rate"]),
                "calibration": partial(figures.calibration_figure, {"model": calibration}),
                "confusion": partial(figures.confusion_figure, result["confusion"]),
            },
            predictions=pd.DataFrame({"prediction": predicted, "probability": scores}),
        )

    def slice_score(self, threshold: float | None, classes: Classes) -> SliceScore:
        """The positive rate, ROC-AUC and F1 at the decision threshold."""
        assert threshold is not None

        def score(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
            return {
                "positive_rate": rounded(y.mean()),
                "roc_auc": rounded(roc_auc_score(y, probability)),
                "f1": rounded(f1_score(y, decide(probability, threshold), zero_division=0)),
            }

        return score

    def review_metrics(self) -> tuple[str, ...]:
        return (*self.headline_metrics, "threshold")

    def answers(
        self, scores: np.ndarray, valid: np.ndarray, classes: Sequence[Any], threshold: float | None
    ) -> pd.DataFrame:
        assert threshold is not None
        labels = typed_labels(decide(scores, threshold), classes, valid)
        return pd.DataFrame({"prediction": labels, "probability": scores})

    def intended_use(self, label: str, classes: Sequence[Any], threshold: float | None) -> str:
        negative, positive = classes
        return (
            f"Predicts the probability that {label} is `{positive}` for one row of the joined input "
            "table, from columns known before the event. The prediction is "
            f"`{positive}` when the probability is at least {threshold:g}, else `{negative}`."
        )

    def answer_description(self, classes: Sequence[Any]) -> str:
        shown = ", ".join(f"`{json.dumps(c)}`" for c in classes)
        return f"Task: binary ({shown}); each row gets its `label` and the positive class's `probability`."


BINARY = BinaryTask()
