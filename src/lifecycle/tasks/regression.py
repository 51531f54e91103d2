"""Regression: a predicted value per row, no classes and no probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle.config import EvaluateSettings, TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import figures
from lifecycle.metrics import regression as regression_metrics
from lifecycle.tasks.base import (
    Array,
    BeyondTrainingRange,
    Classes,
    Evaluation,
    PredictionMetric,
    SliceScore,
    Task,
    UnknownCategories,
)

# Points kept in the regression scatter plot data (a small, diffable file), and histogram bins.
SCATTER_POINTS = 500
HISTOGRAM_BINS = 30
# What a slice reports, the first ranking the worst slices.
SLICE_METRICS = ("r2", "rmse", "mae")


class RegressionPrediction(BaseModel):
    """A regressor's answer for one row (no probability)."""

    label: float = Field(description="The predicted value of the target")
    unknown_categories: UnknownCategories
    beyond_training_range: BeyondTrainingRange


class RegressionTask(Task):
    name = "regression"
    metrics = regression_metrics
    classification = False
    estimator_noun = "regressor"
    reliability_note = (
        "Predictions are point estimates with no interval; the residual histogram and the "
        "predicted-against-actual plot show how far they miss on the test split."
    )
    scores = ("r2",)
    default_metric = "r2"
    # Ridge rather than plain least squares: one-hot or ordinal codes can be collinear, which
    # leaves least squares unstable, and alpha=1 on standardised features barely shrinks.
    baselines = {
        "mean": lambda seed: DummyRegressor(strategy="mean"),
        "linear_regression": lambda seed: make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
    }
    baseline_metrics = ("r2", "rmse", "mae")
    slice_ranked_by = SLICE_METRICS[0]
    review_figures = ("predicted_vs_actual", "residual_histogram", "importance")
    answer = RegressionPrediction
    prediction_metric = PredictionMetric(
        "lifecycle_predicted_value", "Predicted values (buckets: the test target's mean ± k std)", counts_classes=False
    )

    def check_target(self, values: pd.Series, target: TargetSettings) -> None:
        if not pd.api.types.is_numeric_dtype(values):
            raise LifecycleError(
                f"preprocess.target.task is regression, but target column {target.column!r} holds "
                f"{values.dtype} values such as {values.iloc[0]!r}; a regression target must be numeric"
            )

    def encode_label(self, label: pd.Series, target: TargetSettings) -> tuple[pd.Series, None]:
        return label.astype("float64"), None

    def target_summary(self, label: pd.Series) -> dict[str, Any]:
        return {"mean": round(float(label.mean()), 6), "std": round(float(label.std()), 6)}

    def model_scores(self, model: BaseEstimator, X: Any, classes: Classes) -> np.ndarray:
        return np.asarray(model.predict(X), dtype="float64")

    def score_metrics(self, y_true: np.ndarray, scores: np.ndarray, classes: Classes) -> dict[str, float]:
        return regression_metrics.score_metrics(y_true, scores)

    def evaluate(
        self, y_true: Array, scores: Array, classes: Classes, threshold: float | None, settings: EvaluateSettings
    ) -> Evaluation:
        """MSE, RMSE, MAE, R², median absolute error; predicted-vs-actual and residual plots."""
        points = regression_metrics.prediction_points(y_true, scores, SCATTER_POINTS, settings.seed)
        histogram = regression_metrics.residual_histogram(y_true, scores, HISTOGRAM_BINS)
        return Evaluation(
            metrics=regression_metrics.test_metrics(y_true, scores),
            plots={"predictions.json": points, "residual_histogram.json": histogram},
            figures={
                "predicted_vs_actual": partial(figures.predicted_vs_actual_figure, {"model": points}),
                "residuals": partial(figures.residuals_figure, {"model": points}),
                "residual_histogram": partial(figures.residual_histogram_figure, {"model": histogram}),
            },
            predictions=pd.DataFrame({"prediction": scores}),
        )

    def slice_score(self, threshold: float | None, classes: Classes) -> SliceScore:
        def score(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
            computed = regression_metrics.score_metrics(y, predicted)
            return {k: computed[k] for k in SLICE_METRICS}

        return score

    def answers(
        self, scores: np.ndarray, valid: np.ndarray, classes: Sequence[Any], threshold: float | None
    ) -> pd.DataFrame:
        return pd.DataFrame({"prediction": scores})

    def intended_use(self, label: str, classes: Sequence[Any], threshold: float | None) -> str:
        return (
            f"Predicts the value of {label} for one row of the joined input table, from columns known before the event."
        )

    def answer_description(self, classes: Sequence[Any]) -> str:
        return "Task: regression; each row's `label` is the predicted value."


REGRESSION = RegressionTask()
