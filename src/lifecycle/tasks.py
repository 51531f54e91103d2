"""One switch from the task (binary, multiclass, regression) to how a model is scored.

Everything downstream of featurize asks this module, not the task name, so a stage
reads the same for every task: `model_scores` gives what a model outputs for rows
(positive-class probability, class probabilities, or predicted values) and
`score_metrics` turns those into the task's headline metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator

from lifecycle.metrics import binary as evaluation, multiclass as multiclass_metrics, regression as regression_metrics
from lifecycle.errors import LifecycleError

# The higher-is-better metric a task's fit diagnosis, learning curve and review gate use
# unless params name another.
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "roc_auc_ovr", "regression": "r2"}
HEADLINE_METRICS = {
    "binary": evaluation.HEADLINE_METRICS,
    "multiclass": multiclass_metrics.HEADLINE_METRICS,
    "regression": regression_metrics.HEADLINE_METRICS,
}


def model_scores(model: BaseEstimator, X: object, task: str, classes: Sequence[object] | None) -> np.ndarray:
    """Positive-class probability (binary), an (n, k) probability matrix in `classes`
    order (multiclass), or predicted values (regression).

    A model fitted on a cross-validation fold that lacked a class has fewer probability
    columns; they are placed under their class and the missing class gets probability 0,
    so every fold's scores line up with the full class list.
    """
    if task == "regression":
        return np.asarray(model.predict(X), dtype="float64")
    probability = model.predict_proba(X)
    if task == "binary":
        return probability[:, 1]
    assert classes is not None
    aligned = np.zeros((probability.shape[0], len(classes)))
    position = {str(c): i for i, c in enumerate(classes)}
    for column, label in enumerate(model.classes_):
        aligned[:, position[str(label)]] = probability[:, column]
    return aligned


def score_metrics(
    task: str, y_true: np.ndarray, scores: np.ndarray, classes: Sequence[object] | None
) -> dict[str, float]:
    """The task's numeric headline metrics of `scores` (as `model_scores` returns them)."""
    if task == "binary":
        return evaluation.score_metrics(y_true, scores)
    if task == "multiclass":
        assert classes is not None
        return multiclass_metrics.score_metrics(y_true, scores, classes)
    return regression_metrics.score_metrics(y_true, scores)


# Scores where higher is better: the only kind a fit verdict or a gate can read.
_SCORES = {
    "binary": ("roc_auc", "average_precision", "accuracy", "f1"),
    "multiclass": ("roc_auc_ovr", "f1_macro", "balanced_accuracy", "accuracy"),
    "regression": ("r2",),
}


def main_metric(task: str, configured: str | None, key: str) -> str:
    """The configured higher-is-better metric, or the task's default when it is null.

    `key` names the params key in the error, since a metric of another task (roc_auc
    for a regression) is the typical mistake after pointing params at new data.
    """
    if configured is None:
        return DEFAULT_METRIC[task]
    if configured not in _SCORES[task]:
        raise LifecycleError(
            f"{key}: {configured!r} is not a score of a {task} task; use one of "
            f"{list(_SCORES[task])} or null for {DEFAULT_METRIC[task]}"
        )
    return configured

