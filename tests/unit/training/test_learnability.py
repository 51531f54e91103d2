"""Warnings for a model that cannot learn: the flights tuning on a few thousand flights is
one (leaves of 2,000 rows in folds of about a thousand), scikit-learn's defaults are not."""

from __future__ import annotations

import pytest

from lifecycle.config import TrainSettings
from lifecycle.tasks.binary import BINARY
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.learnability import constant_warnings, leaf_warnings, prior_score, smallest_leaf_rows
from tests.support.samples import Featurized

FLIGHTS_TUNED = {"min_samples_leaf": 2000, "max_leaf_nodes": 8, "learning_rate": 0.05, "max_iter": 50}


def hgb(**params: object) -> TrainSettings:
    defaults = TrainSettings().hist_gradient_boosting.model_copy(update=params)
    return TrainSettings(model="hist_gradient_boosting", seed=3, hist_gradient_boosting=defaults)


def test_a_leaf_share_is_rows_of_the_fold() -> None:
    tree = TrainSettings(model="decision_tree")  # min_samples_leaf 0.01 by default
    assert smallest_leaf_rows(tree, 1_050) == 11
    assert smallest_leaf_rows(hgb(), 1_050) == 20
    assert smallest_leaf_rows(TrainSettings(model="logistic_regression"), 1_050) is None


def test_leaves_above_half_the_smallest_fold_are_named() -> None:
    (warning,) = leaf_warnings(hgb(min_samples_leaf=2000), smallest_fold=3_999)
    assert warning.startswith("train.hist_gradient_boosting.min_samples_leaf (2000) asks for leaves of 2,000 rows")
    assert "(3,999 rows)" in warning and "search.enabled: true" in warning
    assert leaf_warnings(hgb(min_samples_leaf=2000), smallest_fold=4_000) == []
    assert leaf_warnings(TrainSettings(model="logistic_regression"), smallest_fold=10) == []


@pytest.mark.parametrize(("hyper", "constant"), [(FLIGHTS_TUNED, True), ({}, False)], ids=["tuned", "defaults"])
def test_a_model_no_better_than_the_prior_is_named(featurized: Featurized, hyper: dict, constant: bool) -> None:
    """Cross-validated on the flights sample's time folds, as the train stage scores it."""
    X, y = featurized.X, featurized.y
    splitter = cv_splitter("time", 3, 3)
    settings = hgb(**hyper)
    cv = cross_validation(X, y, ModelSpec(settings, featurized.categorical), splitter)
    score = cv.summary["validation_roc_auc"]["mean"]
    prior = prior_score(X, y, BINARY, None, splitter)
    assert prior == 0.5  # a constant score ranks no pair of flights
    warnings = constant_warnings(settings, "roc_auc", score, prior)
    if constant:
        assert score == pytest.approx(prior)
        (warning,) = warnings
        assert warning.startswith("the model's cross-validated roc_auc (0.5000) is no better than the prior's")
        assert "check train.hist_gradient_boosting" in warning
    else:
        assert score > prior + 0.05 and warnings == []
