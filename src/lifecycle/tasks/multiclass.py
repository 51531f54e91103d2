"""Multiclass classification: a probability per class, the most probable class predicted.

Labels keep their original values; `classes` are sorted by value, as scikit-learn orders
`classes_` (so 2 comes before 10), and every probability matrix follows that order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sklearn.base import BaseEstimator

from lifecycle.artifacts import Label
from lifecycle.config import EvaluateSettings, TargetSettings
from lifecycle.evaluation import figures
from lifecycle.metrics import multiclass as multiclass_metrics
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

# What a slice reports, the first ranking the worst slices (one-vs-rest AUC is undefined
# for a slice missing a class).
SLICE_METRICS = ("accuracy", "f1_macro")


class MulticlassPrediction(BaseModel):
    """A multiclass classifier's answer for one row."""

    label: Label = Field(description="The predicted class: the most probable one of /metadata's `classes`")
    probability: float = Field(description="Probability of the predicted class (`label`), in [0, 1]")
    probabilities: dict[str, float] = Field(
        description="Probability of every class, keyed by the class label as text, in the order of "
        "/metadata's `classes`; they sum to 1"
    )
    unknown_categories: UnknownCategories
    beyond_training_range: BeyondTrainingRange


def probability_columns(probability: np.ndarray, classes: Sequence[Any]) -> dict[str, np.ndarray]:
    """`probability_<class>` -> that class's column, in class order."""
    return {f"probability_{label}": probability[:, index] for index, label in enumerate(classes)}


class MulticlassTask(ClassificationTask):
    name = "multiclass"
    metrics = multiclass_metrics
    scores = ("roc_auc_ovr", "f1_macro", "balanced_accuracy", "accuracy")
    default_metric = "roc_auc_ovr"
    baseline_metrics = ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss")
    slice_ranked_by = SLICE_METRICS[0]
    review_figures = ("importance",)
    reliability_note = (
        "Class probabilities are not checked for calibration (no plot does it for more than two "
        "classes): treat them as scores that rank the classes, not as frequencies."
    )
    answer = MulticlassPrediction
    prediction_metric = PredictionMetric(
        "lifecycle_predicted_class_probability", "Probability of the predicted class", counts_classes=True
    )

    def encode_label(self, label: pd.Series, target: TargetSettings) -> tuple[pd.Series, list[Any]]:
        return label, sorted(native(v) for v in label.dropna().unique())

    def target_summary(self, label: pd.Series) -> dict[str, Any]:
        shares = label.astype(str).value_counts(normalize=True).sort_index()
        # a list of rows, not a column per class in `dvc metrics show` (see metrics/multiclass.py)
        return {"class_share": [{"class": str(k), "share": round(float(v), 6)} for k, v in shares.items()]}

    def model_scores(self, model: BaseEstimator, X: Any, classes: Classes) -> np.ndarray:
        """An (n, k) probability matrix in `classes` order.

        A model fitted on a cross-validation fold that lacked a class has fewer probability
        columns; they are placed under their class and the missing class gets probability 0,
        so every fold's scores line up with the full class list.
        """
        assert classes is not None
        probability = model.predict_proba(X)
        aligned = np.zeros((probability.shape[0], len(classes)))
        position = {str(c): i for i, c in enumerate(classes)}
        for column, label in enumerate(model.classes_):
            aligned[:, position[str(label)]] = probability[:, column]
        return aligned

    def score_metrics(self, y_true: np.ndarray, scores: np.ndarray, classes: Classes) -> dict[str, float]:
        assert classes is not None
        return multiclass_metrics.score_metrics(y_true, scores, classes)

    def evaluate(
        self, y_true: Array, scores: Array, classes: Classes, threshold: float | None, settings: EvaluateSettings
    ) -> Evaluation:
        """Macro and weighted scores, one-vs-rest ROC-AUC, the per-class report, the k×k confusion."""
        assert classes is not None
        result = multiclass_metrics.test_metrics(y_true, scores, classes)
        predicted = multiclass_metrics.predicted_labels(scores, classes)
        confusion = result["confusion"]
        predictions = pd.DataFrame({"prediction": predicted, "probability": scores.max(axis=1)})
        for column, values in probability_columns(scores, classes).items():
            predictions[column] = values
        return Evaluation(
            metrics=result,
            plots={"confusion.csv": multiclass_metrics.confusion_rows(y_true, predicted)},
            figures={"confusion": partial(figures.class_confusion_figure, confusion["labels"], confusion["matrix"])},
            predictions=predictions,
        )

    def slice_score(self, threshold: float | None, classes: Classes) -> SliceScore:
        def score(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
            computed = self.score_metrics(y, probability, classes)
            return {k: computed[k] for k in SLICE_METRICS}

        return score

    def no_scores(self, rows: int, classes: Sequence[Any]) -> np.ndarray:
        return np.full((rows, len(classes)), np.nan)

    def answers(
        self, scores: np.ndarray, valid: np.ndarray, classes: Sequence[Any], threshold: float | None
    ) -> pd.DataFrame:
        best = np.argmax(np.nan_to_num(scores, nan=-1.0), axis=1)
        result = pd.DataFrame({"prediction": typed_labels(best, classes, valid), "probability": scores.max(axis=1)})
        for column, values in probability_columns(scores, classes).items():
            result[column] = values
        return result

    def intended_use(self, label: str, classes: Sequence[Any], threshold: float | None) -> str:
        shown = ", ".join(f"`{c}`" for c in classes)
        return (
            f"Predicts which class of {label} ({shown}) applies, with a probability per class, for one "
            "row of the joined input table, from columns known before the event."
        )

    def answer_description(self, classes: Sequence[Any]) -> str:
        shown = ", ".join(f"`{json.dumps(c)}`" for c in classes)
        return (
            f"Task: multiclass ({shown}); each row gets its `label`, that label's `probability` "
            "and every class's `probabilities`."
        )


MULTICLASS = MulticlassTask()
