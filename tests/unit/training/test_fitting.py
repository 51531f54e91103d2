"""Model families, learning curves, seeding and cross-validation on featurized real rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from lifecycle.config import Params
from lifecycle.errors import LifecycleError
from lifecycle.featurization.featurizer import categorical_outputs, fit_featurizer, input_columns
from lifecycle.sampling import sample_rows
from lifecycle.storage import write_parquet
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.families import build_estimator
from lifecycle.training.fitting import fit_model, loss_rows, training_rows
from tests.support.samples import small

FAMILIES = [
    "logistic_regression",
    "decision_tree",
    "random_forest",
    "hist_gradient_boosting",
    "mlp",
]
ROWS = 1000

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@dataclass(frozen=True)
class Matrix:
    """ROWS real train rows featurized by a featurizer fitted on just them (smaller and apart
    from the session's `featurized`), the featurizer and its ordinal-coded outputs."""

    X: pd.DataFrame
    y: pd.Series
    featurizer: Pipeline
    columns: list[str]
    categorical: list[str]


@pytest.fixture(scope="module")
def matrix(interim: tuple[pd.DataFrame, pd.DataFrame, dict], params: Params, roles: dict) -> Matrix:
    train = sample_rows(interim[0], ROWS, seed=1)
    columns = input_columns(train, params.featurize, roles.excluded, roles.dropped)
    featurizer = fit_featurizer(train, columns, params.featurize)
    X = featurizer.transform(train[columns])
    return Matrix(X, train[roles.target], featurizer, columns, categorical_outputs(featurizer))


@pytest.mark.parametrize("family", FAMILIES)
def test_fit_model_each_family(matrix: Matrix, params: Params, family: str) -> None:
    result = fit_model(matrix.X, matrix.y, small(params.train, family), matrix.categorical)
    probability = result.model.predict_proba(matrix.X)
    assert probability.shape == (ROWS, 2)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0)
    assert roc_auc_score(matrix.y, probability[:, 1]) > 0.6
    assert result.curves and all(len(curve) > 0 for curve in result.curves.values())
    assert all(np.isfinite(curve).all() for curve in result.curves.values())
    if family in ("logistic_regression", "decision_tree", "random_forest"):
        assert list(result.curves) == ["train/log_loss"]
        assert result.curves["train/log_loss"] == [pytest.approx(log_loss(matrix.y, probability))]


def test_estimator_hyper_parameters_come_from_settings(matrix: Matrix, params: Params) -> None:
    settings = small(params.train, "random_forest", seed=99)
    estimator = build_estimator(settings, matrix.categorical)
    assert estimator.get_params()["n_estimators"] == 20
    assert estimator.get_params()["random_state"] == 99
    boosting = build_estimator(small(params.train, "hist_gradient_boosting"), matrix.categorical)
    assert boosting.get_params()["categorical_features"] == matrix.categorical
    assert (
        build_estimator(small(params.train, "hist_gradient_boosting"), []).get_params()["categorical_features"] is None
    )
    mlp = build_estimator(small(params.train, "mlp"), [])
    assert mlp.get_params()["hidden_layer_sizes"] == (16,)


def test_hist_gradient_boosting_curves(matrix: Matrix, params: Params) -> None:
    result = fit_model(matrix.X, matrix.y, small(params.train, "hist_gradient_boosting"), matrix.categorical)
    model = result.model
    assert isinstance(model, HistGradientBoostingClassifier)
    assert set(result.curves) == {"train/log_loss", "validation/log_loss"}
    for curve in result.curves.values():
        assert len(curve) == model.n_iter_ + 1  # one score before the first iteration, one per iteration
        assert min(curve) > 0
    train = result.curves["train/log_loss"]
    assert train[-1] < train[0]
    rows = loss_rows(result.curves)  # the training-curve chart's table
    assert [row["step"] for row in rows] == list(range(model.n_iter_ + 1))
    assert [row["train"] for row in rows] == train
    assert [row["validation"] for row in rows] == result.curves["validation/log_loss"]


def test_mlp_curves_with_early_stopping(matrix: Matrix, params: Params) -> None:
    result = fit_model(matrix.X, matrix.y, small(params.train, "mlp", early_stopping=True), matrix.categorical)
    assert set(result.curves) == {"train/log_loss", "validation/accuracy"}
    assert len(result.curves["train/log_loss"]) == result.model.n_iter_
    assert len(result.curves["validation/accuracy"]) == result.model.n_iter_
    assert all(0.0 <= a <= 1.0 for a in result.curves["validation/accuracy"])
    assert result.curves["train/log_loss"][-1] < result.curves["train/log_loss"][0]
    # the chart draws losses only: the validation accuracy is no loss to set beside them
    assert {row["validation"] for row in loss_rows(result.curves)} == {None}


def test_mlp_without_early_stopping_has_no_validation_curve(matrix: Matrix, params: Params) -> None:
    settings = small(params.train, "mlp", early_stopping=False, max_iter=5)
    result = fit_model(matrix.X, matrix.y, settings, matrix.categorical)
    assert list(result.curves) == ["train/log_loss"]
    assert len(result.curves["train/log_loss"]) == 5


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_predictions(matrix: Matrix, params: Params, family: str) -> None:
    settings = small(params.train, family, seed=21)
    first = fit_model(matrix.X, matrix.y, settings, matrix.categorical).model.predict_proba(matrix.X)
    second = fit_model(matrix.X, matrix.y, settings, matrix.categorical).model.predict_proba(matrix.X)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("family", ["random_forest", "mlp"])
def test_seed_matters(matrix: Matrix, params: Params, family: str) -> None:
    """The determinism test above could fail: a different seed changes these families."""
    one = fit_model(matrix.X, matrix.y, small(params.train, family, seed=1), matrix.categorical)
    two = fit_model(matrix.X, matrix.y, small(params.train, family, seed=2), matrix.categorical)
    assert not np.array_equal(one.model.predict_proba(matrix.X), two.model.predict_proba(matrix.X))


def test_cross_validation_summary(matrix: Matrix, params: Params) -> None:
    settings = small(params.train, "hist_gradient_boosting").model_copy(update={"cv_folds": 3})
    cv = cross_validation(matrix.X, matrix.y, ModelSpec(settings, matrix.categorical), cv_splitter("stratified", 3, 0))
    names = ("roc_auc", "average_precision", "accuracy", "precision", "recall", "f1", "log_loss", "brier")
    assert set(cv.summary) == {f"{side}_{name}" for side in ("train", "validation") for name in names}
    for value in cv.summary.values():
        assert set(value) == {"mean", "std"}
        assert value["std"] >= 0
    assert 0.5 < cv.summary["validation_roc_auc"]["mean"] <= cv.summary["train_roc_auc"]["mean"] <= 1.0
    assert cv.summary["validation_log_loss"]["mean"] >= cv.summary["train_log_loss"]["mean"] > 0
    assert not np.isnan(cv.oof).any()  # stratified folds validate every row once


def test_cross_validation_matches_manual_folds(matrix: Matrix, params: Params) -> None:
    """Validation scores are those of stratified, shuffled, seeded folds of the train rows."""
    settings = small(params.train, "decision_tree").model_copy(update={"cv_folds": 3, "seed": 4})
    cv = cross_validation(matrix.X, matrix.y, ModelSpec(settings, matrix.categorical), cv_splitter("random", 3, 4))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=4)
    aucs, losses = [], []
    oof = np.full(len(matrix.X), np.nan)
    for fit_rows, held_out in folds.split(matrix.X, matrix.y):
        model = clone(build_estimator(settings, matrix.categorical)).fit(
            matrix.X.iloc[fit_rows], matrix.y.iloc[fit_rows]
        )
        probability = model.predict_proba(matrix.X.iloc[held_out])[:, 1]
        oof[held_out] = probability
        aucs.append(roc_auc_score(matrix.y.iloc[held_out], probability))
        losses.append(log_loss(matrix.y.iloc[held_out], probability))
    # fold scores are rounded to 6 decimals before averaging
    assert cv.summary["validation_roc_auc"]["mean"] == pytest.approx(np.mean(aucs), abs=2e-6)
    assert cv.summary["validation_roc_auc"]["std"] == pytest.approx(np.std(aucs), abs=2e-6)
    assert cv.summary["validation_log_loss"]["mean"] == pytest.approx(np.mean(losses), abs=2e-6)
    np.testing.assert_array_equal(cv.oof, oof)


def test_time_folds_validate_only_on_later_rows(matrix: Matrix, params: Params) -> None:
    """With a time split each fold trains on earlier rows; the first block is never validated."""
    splitter = cv_splitter("time", 3, 0)
    for fit_rows, held_out in splitter.split(matrix.X, matrix.y):
        assert fit_rows.max() < held_out.min()
    settings = small(params.train, "decision_tree").model_copy(update={"cv_folds": 3})
    cv = cross_validation(matrix.X, matrix.y, ModelSpec(settings, matrix.categorical), splitter)
    first_block = len(matrix.X) - 3 * (len(matrix.X) // 4)
    assert np.isnan(cv.oof[:first_block]).all()
    assert not np.isnan(cv.oof[first_block:]).any()


def test_single_class_target_is_refused(matrix: Matrix, params: Params) -> None:
    negatives = matrix.y == 0
    with pytest.raises(LifecycleError, match="the training target has a single class"):
        fit_model(matrix.X[negatives], matrix.y[negatives], params.train, matrix.categorical)


def test_no_rows_is_refused(matrix: Matrix, params: Params) -> None:
    with pytest.raises(LifecycleError, match="no training rows"):
        fit_model(matrix.X.head(0), matrix.y.head(0), params.train, matrix.categorical)


@pytest.mark.parametrize("family", ["logistic_regression", "mlp"])
def test_ordinal_encoding_with_unseen_category_predicts(
    matrix: Matrix, params: Params, interim: tuple[pd.DataFrame, pd.DataFrame, dict], family: str
) -> None:
    model = fit_model(matrix.X, matrix.y, small(params.train, family), matrix.categorical).model
    rows = interim[1][matrix.columns].head(20).copy()
    rows["dest"] = rows["dest"].astype(object)
    rows.loc[rows.index[0], "dest"] = "a destination never seen in training"
    probability = model.predict_proba(matrix.featurizer.transform(rows))[:, 1]
    assert np.isfinite(probability).all()


def test_train_max_rows_is_a_seeded_sample_in_time_order(interim: tuple, params: Params, tmp_path: Path) -> None:
    train = interim[0]  # the interim train rows, in time order
    path = tmp_path / "train.parquet"
    write_parquet(train, path)
    pd.testing.assert_frame_equal(training_rows(path, params.train), train)  # null: every row
    settings = params.train.model_copy(update={"max_rows": 1000})
    sample = training_rows(path, settings)
    assert len(sample) == 1000
    assert sample["time_hour"].is_monotonic_increasing  # time-ordered folds stay time-ordered
    pd.testing.assert_frame_equal(training_rows(path, settings), sample)  # seeded: the same rows again
    other = training_rows(path, settings.model_copy(update={"seed": settings.seed + 1}))
    assert not other.equals(sample)
    assert len(training_rows(path, settings.model_copy(update={"max_rows": len(train) + 1}))) == len(train)
