"""Fit diagnosis: the verdict rules, and underfit / overfit trees on the real flights sample."""

from __future__ import annotations

import pytest

from lifecycle.config import DiagnosisSettings, Params, TrainSettings
from lifecycle.evaluation.diagnosis import diagnose_fit
from lifecycle.metrics.binary import score_metrics
from lifecycle.tasks.registry import task_named
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.fitting import fit_model
from tests.support.samples import Featurized, small

RULES = DiagnosisSettings(metric="roc_auc", underfit_below=0.65, overfit_gap=0.05)


# --- the rules on given scores ----------------------------------------------------------


@pytest.mark.parametrize(
    ("train", "validation", "verdict"),
    [
        (0.60, 0.59, "underfit"),
        (0.60, 0.30, "underfit"),  # a low training score is underfit whatever the gap
        (0.649999, 0.40, "underfit"),
        (0.65, 0.64, "good fit"),  # exactly at underfit_below is not below it
        (0.90, 0.80, "overfit"),
        (0.80, 0.76, "good fit"),
        (0.80, 0.85, "good fit"),  # validation above train: no memorisation
        (1.00, 0.70, "overfit"),
    ],
)
def test_verdict(train: float, validation: float, verdict: str) -> None:
    assert diagnose_fit(train, validation, 0.7, RULES)["verdict"] == verdict


def test_numbers_and_thresholds_are_reported() -> None:
    result = diagnose_fit(0.8123456789, 0.7501, 0.7000004, RULES)
    assert result == {
        "verdict": "overfit",
        "metric": "roc_auc",
        "train": 0.812346,
        "validation": 0.7501,
        "test": 0.7,
        "train_validation_gap": 0.062246,
        "validation_test_gap": 0.0501,
        "underfit_below": 0.65,
        "overfit_gap": 0.05,
        "warnings": [],
    }


def test_train_s_warnings_are_repeated_beside_the_verdict() -> None:
    warning = "train.hist_gradient_boosting.min_samples_leaf (2000) asks for leaves of 2,000 rows, ..."
    result = diagnose_fit(0.5, 0.5, 0.5, RULES, [warning])
    assert (result["verdict"], result["warnings"]) == ("underfit", [warning])


def test_test_score_never_changes_the_verdict() -> None:
    """The test score is reported beside the verdict (drift), not used for it."""
    verdicts = {diagnose_fit(0.8, 0.77, test, RULES)["verdict"] for test in (0.1, 0.5, 0.77, 0.99)}
    assert verdicts == {"good fit"}
    assert diagnose_fit(0.8, 0.77, 0.6, RULES)["validation_test_gap"] == pytest.approx(0.17)


def test_settings_decide_the_verdict() -> None:
    lenient = DiagnosisSettings(metric="f1", underfit_below=0.3, overfit_gap=0.2)
    assert diagnose_fit(0.60, 0.45, 0.4, RULES)["verdict"] == "underfit"
    assert diagnose_fit(0.60, 0.45, 0.4, lenient)["verdict"] == "good fit"
    assert diagnose_fit(0.90, 0.65, 0.4, lenient)["verdict"] == "overfit"
    assert diagnose_fit(0.90, 0.65, 0.4, lenient)["metric"] == "f1"


def test_gap_equal_to_overfit_gap_is_not_overfit() -> None:
    result = diagnose_fit(0.75, 0.70, 0.7, RULES)
    assert result["train_validation_gap"] == result["overfit_gap"]
    assert result["verdict"] == "good fit"


# --- constructed cases on real data -----------------------------------------------------


def tree(params: Params, max_depth: int | None, min_samples_leaf: int) -> TrainSettings:
    """A decision tree with the given capacity, on 3 folds; everything else from params.yaml."""
    shape = {"max_depth": max_depth, "min_samples_leaf": min_samples_leaf}
    return small(params.train, "decision_tree", **shape).model_copy(update={"cv_folds": 3})


def diagnose(data: Featurized, settings: TrainSettings, params: Params, roles: dict) -> dict[str, object]:
    """The evaluate stage's diagnosis: CV means from train's folds, the test score beside them."""
    metric = task_named(roles.task).main_metric(params.evaluate.diagnosis.metric, "evaluate.diagnosis.metric")
    rules = params.evaluate.diagnosis.model_copy(update={"metric": metric})
    splitter = cv_splitter(roles.split, settings.cv_folds, settings.seed)
    cv = cross_validation(data.X, data.y, ModelSpec(settings, data.categorical), splitter)
    model = fit_model(data.X, data.y, settings, data.categorical).model
    test = score_metrics(data.y_test, model.predict_proba(data.X_test)[:, 1])[rules.metric]
    train, validation = (cv.summary[f"{side}_{rules.metric}"]["mean"] for side in ("train", "validation"))
    return diagnose_fit(train, validation, test, rules)


def test_a_stump_is_underfit(featurized: Featurized, params: Params, roles: dict) -> None:
    result = diagnose(featurized, tree(params, 1, 1), params, roles)
    assert result["verdict"] == "underfit"
    assert 0.5 < result["train"] < params.evaluate.diagnosis.underfit_below
    assert abs(result["train_validation_gap"]) < 0.05  # too simple to memorise anything


def test_an_unpruned_tree_is_overfit(featurized: Featurized, params: Params, roles: dict) -> None:
    result = diagnose(featurized, tree(params, None, 1), params, roles)
    assert result["verdict"] == "overfit"
    assert result["train"] > 0.99  # every training row gets its own leaf
    assert result["train_validation_gap"] > 2 * params.evaluate.diagnosis.overfit_gap
    assert result["validation"] < 0.65 and result["test"] < 0.65
