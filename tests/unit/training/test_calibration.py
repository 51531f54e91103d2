"""Probability calibration: calibrators fitted on held-out real predictions, and the wrapper model."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline

from lifecycle.config import Params
from lifecycle.packaging.inference import inference_pipeline
from lifecycle.training.calibration import CalibratedModel, apply_calibrator, fit_calibrator
from lifecycle.training.fitting import fit_model
from tests.support.samples import Featurized, Interim, small

METHODS = ["sigmoid", "isotonic"]
SQUASH = 0.2  # probabilities pulled to within 0.1 of 0.5: right ranking, wrong scale


class Squashed(ClassifierMixin, BaseEstimator):
    """A fitted model whose probabilities are squashed towards 0.5: deliberately miscalibrated."""

    def __init__(self, model: BaseEstimator) -> None:
        self.model = model

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_

    def predict_proba(self, X: object) -> np.ndarray:
        positive = 0.5 + (self.model.predict_proba(X)[:, 1] - 0.5) * SQUASH
        return np.column_stack([1 - positive, positive])


@dataclass(frozen=True)
class Held:
    """A squashed model fitted on the earlier train rows, and real rows it never saw."""

    model: Squashed
    featurizer: Pipeline
    columns: list[str]
    X_calibrate: pd.DataFrame
    y_calibrate: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    raw_test: pd.DataFrame


@pytest.fixture(scope="module")
def held(interim: Interim, featurized: Featurized, params: Params) -> Held:
    """Train rows split in time order: the first 60 % fit the model, the rest fit the calibrator."""
    X, y = featurized.X, featurized.y
    cut = int(len(X) * 0.6)
    settings = small(params.train, "logistic_regression", max_iter=1000)
    model = fit_model(X.iloc[:cut], y.iloc[:cut], settings, []).model
    return Held(
        Squashed(model),
        featurized.featurizer,
        featurized.columns,
        X.iloc[cut:],
        y.iloc[cut:].to_numpy(),
        featurized.X_test,
        featurized.y_test,
        interim[1],
    )


def calibrated(held: Held, method: str) -> CalibratedModel:
    probability = held.model.predict_proba(held.X_calibrate)[:, 1]
    return CalibratedModel(held.model, fit_calibrator(probability, held.y_calibrate, method))


@pytest.mark.parametrize("method", METHODS)
def test_calibration_improves_held_out_probabilities(held: Held, method: str) -> None:
    raw = held.model.predict_proba(held.X_test)[:, 1]
    assert raw.min() >= 0.4 and raw.max() <= 0.6  # the squashing really is there
    fixed = calibrated(held, method).predict_proba(held.X_test)[:, 1]
    assert brier_score_loss(held.y_test, fixed) < brier_score_loss(held.y_test, raw) - 0.01
    assert fixed.max() - fixed.min() > 2 * (raw.max() - raw.min())  # un-squashed
    if method == "sigmoid":
        # isotonic maps the extreme calibration bins to exactly 0 and 1, which log loss
        # punishes on unseen rows; the smooth Platt map has no such steps
        assert log_loss(held.y_test, fixed) < log_loss(held.y_test, raw) - 0.03


@pytest.mark.parametrize("method", METHODS)
def test_calibrated_model_probabilities(held: Held, method: str) -> None:
    model = calibrated(held, method)
    probability = model.predict_proba(held.X_test)
    assert probability.shape == (len(held.X_test), 2)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0)
    assert ((probability >= 0) & (probability <= 1)).all()
    np.testing.assert_array_equal(model.classes_, held.model.classes_)
    expected = model.classes_[(probability[:, 1] >= 0.5).astype(int)]
    np.testing.assert_array_equal(model.predict(held.X_test), expected)


def test_sigmoid_keeps_the_ranking(held: Held) -> None:
    """Platt scaling is a strictly increasing map, so ROC-AUC cannot change."""
    raw = held.model.predict_proba(held.X_test)[:, 1]
    fixed = calibrated(held, "sigmoid").predict_proba(held.X_test)[:, 1]
    assert roc_auc_score(held.y_test, fixed) == pytest.approx(roc_auc_score(held.y_test, raw), abs=1e-12)
    order = np.argsort(raw, kind="stable")
    assert (np.diff(fixed[order]) >= 0).all()


def test_isotonic_is_monotone_and_clips_outside_the_fitted_range(held: Held) -> None:
    probability = held.model.predict_proba(held.X_calibrate)[:, 1]
    calibrator = fit_calibrator(probability, held.y_calibrate, "isotonic")
    assert isinstance(calibrator, IsotonicRegression)
    grid = np.linspace(0.0, 1.0, 201)
    mapped = apply_calibrator(calibrator, grid)
    assert (np.diff(mapped) >= 0).all()
    assert ((mapped >= 0) & (mapped <= 1)).all()
    low, high = apply_calibrator(calibrator, np.array([probability.min(), probability.max()]))
    assert mapped[0] == low and mapped[-1] == high  # 0 and 1 lie outside the squashed range
    assert high > low


def test_sigmoid_leaves_calibrated_probabilities_nearly_unchanged() -> None:
    """Constructed truth: labels drawn with exactly the given probabilities."""
    rng = np.random.default_rng(0)
    probability = rng.uniform(0.02, 0.98, 20000)
    y = (rng.uniform(size=probability.size) < probability).astype(int)
    calibrator = fit_calibrator(probability, y, "sigmoid")
    grid = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(apply_calibrator(calibrator, grid), grid, atol=0.03)


def test_calibrated_model_survives_pickling(held: Held) -> None:
    """train writes the wrapper with joblib; the reloaded copy must predict the same."""
    model = calibrated(held, "isotonic")
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(held.X_test), model.predict_proba(held.X_test))


def test_calibrated_model_predicts_inside_the_inference_pipeline(held: Held) -> None:
    model = calibrated(held, "sigmoid")
    pipeline = inference_pipeline(held.featurizer, model)
    rows = held.raw_test[held.columns]
    np.testing.assert_allclose(pipeline.predict_proba(rows), model.predict_proba(held.X_test))
