"""Optional probability calibration, fitted on out-of-fold predictions of the train split."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression


def fit_calibrator(probability: np.ndarray, y_true: np.ndarray, method: str) -> BaseEstimator:
    """A map from raw to calibrated probability: Platt scaling (sigmoid) or isotonic."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(probability, y_true)
    return LogisticRegression().fit(_logit(probability), y_true)


def _logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped)).reshape(-1, 1)


def apply_calibrator(calibrator: BaseEstimator, probability: np.ndarray) -> np.ndarray:
    """Calibrated positive-class probabilities."""
    if isinstance(calibrator, IsotonicRegression):
        return calibrator.predict(probability)
    return calibrator.predict_proba(_logit(probability))[:, 1]


class CalibratedModel(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose positive-class probabilities pass through a calibrator.

    Both parts are fitted already (the calibrator on out-of-fold predictions, so it never
    sees the final model's in-sample optimism), so `fit` refuses to refit them.
    """

    def __init__(self, model: BaseEstimator, calibrator: BaseEstimator) -> None:
        self.model = model
        self.calibrator = calibrator

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X: object, y: object = None) -> CalibratedModel:
        """Present because scikit-learn only treats objects with `fit` as estimators."""
        raise NotImplementedError("CalibratedModel wraps fitted parts; the train stage builds it")

    def predict_proba(self, X: object) -> np.ndarray:
        positive = apply_calibrator(self.calibrator, self.model.predict_proba(X)[:, 1])
        return np.column_stack([1 - positive, positive])

    def predict(self, X: object) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
