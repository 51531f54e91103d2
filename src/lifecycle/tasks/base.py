"""What a task is: everything that differs between binary, multiclass and regression, in one object.

Code downstream of the target asks the task object, never its name: how a model's
output becomes scores, which metrics are headlines and which way they improve, what
evaluate writes, the baselines, what a slice reports, how the label is encoded, what
the service answers and which Prometheus metric follows the predictions. A new task is
one subclass (a module beside this one), its metric module in `lifecycle.metrics`, and
one line in `lifecycle.tasks.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sklearn.base import BaseEstimator

from lifecycle.config import EvaluateSettings, TargetSettings
from lifecycle.errors import LifecycleError

# A constant or a plain model a trained model should beat, built from the seed.
BaselineFactory = Callable[[int], BaseEstimator]
# Scores one slice of test rows: (labels, model scores) -> metrics.
SliceScore = Callable[[np.ndarray, np.ndarray], dict[str, float]]
Array = np.ndarray
# The class labels in model-output order (None: regression).
Classes = Sequence[Any] | None
# The answer fields every task's row answer ends with.
UnknownCategories = Annotated[
    list[str],
    Field(description="Categorical fields whose value was never seen in training (only with the accept policy)"),
]
BeyondTrainingRange = Annotated[
    list[str],
    Field(
        description="Numeric fields whose value lies beyond the training range (inside the field's domain, "
        "so scored, but the model never saw such a value)"
    ),
]


@dataclass
class Evaluation:
    """What the evaluate stage writes for a task: test metrics, plot data (file name -> rows),
    figures (name -> draw into a path) and the test predictions."""

    metrics: dict[str, Any]
    plots: dict[str, list[dict[str, Any]] | pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class PredictionMetric:
    """The Prometheus metric that follows what a served model predicts.

    `counts_classes`: classification also counts each predicted class; the histogram holds
    a probability (buckets 0.1 ... 1) or, for regression, the predicted value (buckets
    around the test target's mean).
    """

    name: str
    help: str
    counts_classes: bool


class Task(ABC):
    """One kind of supervised problem. Subclasses set the class attributes and the methods."""

    name: ClassVar[str]
    # The task's metric module (lifecycle.metrics.<task>): HEADLINE_METRICS, the directions
    # HIGHER_IS_BETTER and LOWER_IS_BETTER, and score_metrics.
    metrics: ClassVar[ModuleType]
    # Class labels: predict_proba, stratified folds, class checks in validation.
    classification: ClassVar[bool]
    # A decision threshold (and optional calibration) chosen on out-of-fold predictions.
    decision_threshold: ClassVar[bool] = False
    # How the model card calls the fitted model, and what it says of trusting its outputs.
    estimator_noun: ClassVar[str]
    reliability_note: ClassVar[str]
    # Higher-is-better metrics: the only kind a fit verdict or a review gate can read.
    scores: ClassVar[tuple[str, ...]]
    # The score the fit diagnosis, learning curve, importance and gate use unless params say.
    default_metric: ClassVar[str]
    # Baselines fitted on the same features, and the metrics reported for them.
    baselines: ClassVar[Mapping[str, BaselineFactory]]
    baseline_metrics: ClassVar[tuple[str, ...]]
    # The score that ranks the worst slices; whether a slice needs both classes to be scored.
    slice_ranked_by: ClassVar[str]
    slices_need_two_classes: ClassVar[bool] = False
    # The review's figures that overlay base and workspace.
    review_figures: ClassVar[tuple[str, ...]]
    # The row answer of the HTTP service and the metric that follows it.
    answer: ClassVar[type[BaseModel]]
    prediction_metric: ClassVar[PredictionMetric]

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    @property
    def headline_metrics(self) -> tuple[str, ...]:
        """The numeric headline metrics, in the order reports and the model card list them."""
        return self.metrics.HEADLINE_METRICS

    @property
    def higher_is_better(self) -> frozenset[str]:
        return self.metrics.HIGHER_IS_BETTER

    @property
    def lower_is_better(self) -> frozenset[str]:
        return self.metrics.LOWER_IS_BETTER

    # --- the label -------------------------------------------------------------------------

    def check_target(self, values: pd.Series, target: TargetSettings) -> None:
        """Refuse a declared task the target's values cannot have (default: any will do)."""

    @abstractmethod
    def encode_label(self, label: pd.Series, target: TargetSettings) -> tuple[pd.Series, list[Any] | None]:
        """The learnable label (no missing values) and the classes in model order (None: regression)."""

    @abstractmethod
    def target_summary(self, label: pd.Series) -> dict[str, Any]:
        """What preprocess reports of the encoded label of one split."""

    # --- models and metrics ------------------------------------------------------------

    @abstractmethod
    def model_scores(self, model: BaseEstimator, X: Any, classes: Classes) -> np.ndarray:
        """What the model outputs for rows, as the metrics read it."""

    @abstractmethod
    def score_metrics(self, y_true: np.ndarray, scores: np.ndarray, classes: Classes) -> dict[str, float]:
        """The headline metrics of `scores` (as `model_scores` returns them): what
        cross-validation averages."""

    @abstractmethod
    def evaluate(
        self, y_true: Array, scores: Array, classes: Classes, threshold: float | None, settings: EvaluateSettings
    ) -> Evaluation:
        """Test metrics, plot data, figures and predictions of the evaluate stage."""

    @abstractmethod
    def slice_score(self, threshold: float | None, classes: Classes) -> SliceScore:
        """What each evaluation slice reports; it includes `slice_ranked_by`."""

    def review_metrics(self) -> tuple[str, ...]:
        """The evaluate metrics the review lists first."""
        return self.headline_metrics

    def main_metric(self, configured: str | None, key: str) -> str:
        """The configured higher-is-better metric, or the task's default when it is null.

        `key` names the params key in the error, since a metric of another task (roc_auc
        for a regression) is the typical mistake after pointing params at new data.
        """
        if configured is None:
            return self.default_metric
        if configured not in self.scores:
            raise LifecycleError(
                f"{key}: {configured!r} is not a score of a {self.name} task; use one of "
                f"{list(self.scores)} or null for {self.default_metric}"
            )
        return configured

    # --- the packaged model -------------------------------------------------------------

    def no_scores(self, rows: int, classes: Sequence[Any]) -> np.ndarray:
        """Scores for `rows` rows that have none yet (NaN), in the shape `model_scores` returns."""
        return np.full(rows, np.nan)

    @abstractmethod
    def answers(
        self, scores: np.ndarray, valid: np.ndarray, classes: Sequence[Any], threshold: float | None
    ) -> pd.DataFrame:
        """Bundle.predict's columns for every row's scores (NaN where a row is not `valid`):
        `prediction` (a class label or the value, missing for an invalid row) and the task's
        probability columns."""

    @abstractmethod
    def intended_use(self, label: str, classes: Sequence[Any], threshold: float | None) -> str:
        """The model card's sentence on what the model outputs, in the words of its task."""

    @abstractmethod
    def answer_description(self, classes: Sequence[Any]) -> str:
        """The service's OpenAPI description of what each row's answer holds."""
