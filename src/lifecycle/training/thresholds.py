"""The decision of a binary model: a threshold (and an optional calibration) chosen on
out-of-fold validation predictions, never on the test set."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import precision_recall_curve

from lifecycle.artifacts import ThresholdChoice
from lifecycle.config import ThresholdSettings, TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.binary import threshold_metrics
from lifecycle.training.calibration import apply_calibrator, fit_calibrator


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


def decision_from_folds(
    probability: np.ndarray, y_true: np.ndarray, settings: TrainSettings
) -> tuple[BaseEstimator | None, ThresholdChoice]:
    """The calibrator (or None) and the decision threshold, both chosen on out-of-fold
    predictions (`probability` of the rows some fold validated), with the threshold's
    scores on them: what train.json records under `threshold`."""
    calibrator = None
    if settings.calibration != "none":
        calibrator = fit_calibrator(probability, y_true, settings.calibration)
        probability = apply_calibrator(calibrator, probability)
    threshold = choose_threshold(y_true, probability, settings.decision_threshold)
    return calibrator, ThresholdChoice(
        rule=settings.decision_threshold.rule,
        calibration=settings.calibration,
        validation=threshold_metrics(y_true, probability, threshold),
    )
