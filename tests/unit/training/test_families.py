"""Every model family in both flavours, cross-validated per task, on scikit-learn's real datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.datasets import load_diabetes, load_wine
from sklearn.metrics import r2_score, roc_auc_score

from lifecycle.config import Params, TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.tasks.multiclass import MULTICLASS
from lifecycle.tasks.registry import TASKS
from lifecycle.tasks.regression import REGRESSION
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.families import build_estimator
from lifecycle.training.fitting import fit_model
from lifecycle.training.learning_curve import learning_curve
from tests.support.samples import small

FAMILIES = ["logistic_regression", "decision_tree", "random_forest", "hist_gradient_boosting", "mlp"]


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.Series]:
    data = load_wine(as_frame=True)
    labels = data.target.map(dict(enumerate(data.target_names)))  # text labels, as users have them
    return (data.data - data.data.mean()) / data.data.std(), labels


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    data = load_diabetes(as_frame=True)
    return data.data, data.target


# A small MLP needs more steps than SMALL gives it to regress a target in the hundreds.
MORE_STEPS = {"mlp": {"max_iter": 300, "learning_rate_init": 0.01}}


def settings_for(params: Params, model: str) -> TrainSettings:
    return small(params.train, model, seed=3, **MORE_STEPS.get(model, {})).model_copy(update={"cv_folds": 3})


@pytest.mark.parametrize("model", FAMILIES)
def test_every_family_classifies_wine_and_regresses_diabetes(
    params: Params, model: str, wine: tuple[pd.DataFrame, pd.Series], diabetes: tuple[pd.DataFrame, pd.Series]
) -> None:
    settings = settings_for(params, model)
    X, y = wine
    classifier = fit_model(X, y, settings, [], MULTICLASS)
    assert is_classifier(classifier.model)
    assert list(classifier.model.classes_) == sorted(y.unique())
    probability = MULTICLASS.model_scores(classifier.model, X, sorted(y.unique()))
    assert probability.shape == (len(X), 3)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0)
    assert classifier.curves and all(np.isfinite(v).all() for v in classifier.curves.values())
    X, y = diabetes
    regressor = fit_model(X, y, settings, [], REGRESSION)
    assert is_regressor(regressor.model)
    predicted = REGRESSION.model_scores(regressor.model, X, None)
    assert r2_score(y, predicted) > 0.3, f"{model} fits its own training data poorly"
    assert any(name.endswith("squared_error") for name in regressor.curves)


def test_a_forest_fitted_on_two_threads_scores_the_same_every_call(
    params: Params, wine: tuple[pd.DataFrame, pd.Series]
) -> None:
    """Fitted on `n_jobs` threads, it predicts on one: the trees' sum is added in one order,
    so the same rows get the same scores to the last bit (on two threads they did not)."""
    settings = settings_for(params, "random_forest")
    settings = settings.model_copy(update={"random_forest": settings.random_forest.model_copy(update={"n_jobs": 2})})
    X, y = wine
    for task in (MULTICLASS, REGRESSION):
        target = y if task is MULTICLASS else pd.Series(np.arange(len(y)) % 7, dtype=float)
        model = fit_model(X, target, settings, [], task).model
        assert model.n_jobs == 1
        classes = sorted(y.unique()) if task is MULTICLASS else None
        first = task.model_scores(model, X, classes)
        for _ in range(10):
            np.testing.assert_array_equal(task.model_scores(model, X, classes), first)


def test_linear_regression_flavour_is_ridge_with_inverse_c(params: Params) -> None:
    settings = settings_for(params, "logistic_regression")
    ridge = build_estimator(settings, [], REGRESSION)
    assert type(ridge).__name__ == "Ridge"
    assert ridge.alpha == pytest.approx(1.0 / settings.logistic_regression.C)
    tree = build_estimator(settings_for(params, "decision_tree"), [], REGRESSION)
    assert tree.criterion == "squared_error"  # a classifier's gini has no regression meaning


def test_multiclass_cross_validation_scores_every_row_once(
    params: Params, wine: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = wine
    classes = sorted(y.unique())
    settings = settings_for(params, "logistic_regression")
    spec = ModelSpec(settings, [], MULTICLASS, classes)
    cv = cross_validation(X, y, spec, cv_splitter("stratified", 3, 0, MULTICLASS))
    assert cv.validated.all() and cv.oof.shape == (len(X), 3)
    assert set(cv.summary) == {f"{side}_{m}" for side in ("train", "validation") for m in MULTICLASS.headline_metrics}
    assert cv.summary["validation_roc_auc_ovr"]["mean"] > 0.95  # wine is easy
    oof_auc = roc_auc_score(y, cv.oof, multi_class="ovr", labels=classes)
    assert oof_auc == pytest.approx(cv.summary["validation_roc_auc_ovr"]["mean"], abs=0.02)


def test_a_fold_missing_a_class_still_lines_up(params: Params, wine: tuple[pd.DataFrame, pd.Series]) -> None:
    """Time folds where the third class only appears later: the first fold trains without it."""
    X, y = wine
    rng = np.random.default_rng(0)
    third = y == sorted(y.unique())[2]
    early = rng.permutation(np.flatnonzero(~third))[:60]  # 60 rows of the first two classes
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), early))
    order = np.concatenate([early, rest])
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    splitter = cv_splitter("time", 3, 0, MULTICLASS)
    first_train, first_validation = next(splitter.split(X, y))
    assert y.iloc[first_train].nunique() == 2 and y.iloc[first_validation].nunique() == 3
    spec = ModelSpec(settings_for(params, "decision_tree"), [], MULTICLASS, sorted(y.unique()))
    cv = cross_validation(X, y, spec, splitter)
    np.testing.assert_array_equal(cv.oof[first_validation][:, 2], 0.0)  # unseen class: probability 0
    np.testing.assert_allclose(cv.oof[cv.validated].sum(axis=1), 1.0)


def test_regression_cross_validation_and_learning_curve(
    params: Params, diabetes: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = diabetes
    settings = settings_for(params, "hist_gradient_boosting").model_copy(
        update={"learning_curve": params.train.learning_curve.model_copy(update={"rows": 400, "fractions": [0.3, 1.0]})}
    )
    splitter = cv_splitter("random", 3, 0, REGRESSION)
    assert type(splitter).__name__ == "KFold"  # stratifying a continuous target is meaningless
    cv = cross_validation(X, y, ModelSpec(settings, [], REGRESSION), splitter)
    assert 0.2 < cv.summary["validation_r2"]["mean"] < cv.summary["train_r2"]["mean"]
    assert cv.summary["validation_rmse"]["mean"] == pytest.approx(
        np.sqrt(np.mean((y.to_numpy() - cv.oof) ** 2)), rel=0.1
    )
    curve = learning_curve(X, y, ModelSpec(settings, [], REGRESSION), splitter)
    assert [p["train_size"] for p in curve] == sorted(p["train_size"] for p in curve)
    assert curve[-1]["validation_score"] > curve[0]["validation_score"] - 0.05


def test_scores_and_main_metric_per_task(diabetes: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = diabetes
    scores = REGRESSION.score_metrics(y.to_numpy(), np.full(len(y), y.mean()), None)
    assert set(scores) == set(REGRESSION.headline_metrics)
    assert scores["r2"] == pytest.approx(0.0, abs=1e-9)
    defaults = {"binary": "roc_auc", "multiclass": "roc_auc_ovr", "regression": "r2"}
    assert {name: task.main_metric(None, "k") for name, task in TASKS.items()} == defaults
    assert MULTICLASS.main_metric("f1_macro", "k") == "f1_macro"
    with pytest.raises(LifecycleError, match=r"report.main_metric: 'roc_auc' is not a score of a regression task"):
        REGRESSION.main_metric("roc_auc", "report.main_metric")
    with pytest.raises(LifecycleError, match="'rmse' is not a score"):  # lower is better: no gate
        REGRESSION.main_metric("rmse", "evaluate.diagnosis.metric")
