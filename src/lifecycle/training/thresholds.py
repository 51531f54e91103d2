"""Choosing the decision threshold on validation predictions, never on the test set."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from lifecycle.config import ThresholdSettings
from lifecycle.errors import LifecycleError


def choose_threshold(y_true: np.ndarray, probability: np.ndarray, settings: ThresholdSettings) -> float:
    """The threshold the rule picks on (y_true, probability), e.g. out-of-fold predictions."""
    if settings.rule == "fixed":
        return settings.value
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if settings.rule == "max_f1":
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
        return float(thresholds[int(np.argmax(f1))])
    if settings.rule == "min_precision":
        reaching, better, tie_break = precision >= settings.value, recall, precision
    else:
        reaching, better, tie_break = recall >= settings.value, precision, recall
    if not reaching.any():
        raise LifecycleError(
            f"train.decision_threshold: no threshold reaches {settings.rule.removeprefix('min_')} "
            f"{settings.value} on the validation folds; lower `value` or use rule max_f1"
        )
    candidates = np.flatnonzero(reaching)
    # Best on the optimised metric; among ties, best on the constrained one.
    best = np.lexsort((tie_break[candidates], better[candidates]))[-1]
    return float(thresholds[candidates[best]])
