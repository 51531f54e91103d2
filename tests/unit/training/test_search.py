"""Model selection on real data: seeded, scored by the train stage's kind of cross-validation,
starting from every family's defaults, and honest about failed and pruned trials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from lifecycle.config import Choices, Range, SearchSettings, TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.tasks.multiclass import MULTICLASS
from lifecycle.tasks.regression import REGRESSION
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.families import family_settings
from lifecycle.training.search import Trial, run_search
from tests.support.samples import Featurized

FAMILIES = ["logistic_regression", "random_forest", "hist_gradient_boosting"]
# Small forests and short boosting: the tests are about the search, not the models.
FAST = {
    "random_forest": {"n_estimators": Choices(choices=[20])},
    "hist_gradient_boosting": {"max_iter": Range(low=10, high=40)},
}


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.Series]:
    data = load_wine(as_frame=True)
    X = (data.data - data.data.mean()) / data.data.std()  # standardised, as featurize would
    return X, data.target.map(dict(enumerate(data.target_names)))


def search(trials: int, **changes: object) -> SearchSettings:
    return SearchSettings(
        **{"enabled": True, "trials": trials, "families": FAMILIES, "seed": 3, "spaces": FAST, **changes}
    )


def test_the_first_trials_are_every_family_with_its_defaults(featurized: Featurized) -> None:
    """On the flights sample with time-ordered folds, as train scores it."""
    spec = ModelSpec(TrainSettings(seed=3), featurized.categorical)
    seen: list[Trial] = []
    families = ["logistic_regression", "hist_gradient_boosting"]
    settings = search(3, families=families, spaces={})  # the default spaces
    outcome = run_search(
        featurized.X, featurized.y, spec, cv_splitter("time", 3, 3), settings, on_trial=lambda t, b, s: seen.append(t)
    )
    assert [t.family for t in outcome.trials[:2]] == families
    assert outcome.trials[0].params == {"C": 1.0}
    assert outcome.trials[1].params == {
        "learning_rate": 0.1,
        "max_iter": 100,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
    }
    assert seen == outcome.trials and len(seen) == 3
    # the defaults' trial scores what train's own cross-validation of the same model scores
    defaults = ModelSpec(family_settings(TrainSettings(seed=3), "hist_gradient_boosting", {}), featurized.categorical)
    cv = cross_validation(featurized.X, featurized.y, defaults, cv_splitter("time", 3, 3))
    assert outcome.trials[1].mean == cv.summary["validation_roc_auc"]["mean"]


def test_the_best_trial_is_chosen_and_its_params_are_the_whole_family_s(
    wine: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = wine
    spec = ModelSpec(TrainSettings(seed=3), [], MULTICLASS, sorted(y.unique()))
    outcome = run_search(X, y, spec, cv_splitter("stratified", 3, 3, MULTICLASS), search(8))
    complete = [t for t in outcome.trials if t.state == "complete"]
    assert outcome.metric == "roc_auc_ovr" and len(outcome.trials) == 8
    assert outcome.best.mean == max(t.mean for t in complete) > 0.95
    family = TrainSettings().family_params(outcome.best.family).model_dump(mode="json")
    assert set(outcome.best.params) == set(family)  # every hyper-parameter, not only the varied ones


def test_two_runs_give_the_same_trials(wine: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = wine
    spec = ModelSpec(TrainSettings(seed=3), [], MULTICLASS, sorted(y.unique()))
    settings = search(8, families=["logistic_regression", "hist_gradient_boosting"])
    runs = [run_search(X, y, spec, cv_splitter("stratified", 3, 3, MULTICLASS), settings) for _ in range(2)]
    assert [t.as_json() for t in runs[0].trials] == [t.as_json() for t in runs[1].trials]


def test_pruning_stops_weak_trials_after_two_folds() -> None:
    """A regression with a space wide enough for bad trials: some are stopped early."""
    data = load_diabetes(as_frame=True)
    spec = ModelSpec(TrainSettings(seed=3), [], REGRESSION)
    spaces = {**FAST, "logistic_regression": {"C": Range(low=0.00001, high=100.0, log=True)}}
    outcome = run_search(
        data.data, data.target, spec, cv_splitter("random", 3, 3, REGRESSION), search(20, spaces=spaces)
    )
    pruned = [t for t in outcome.trials if t.state == "pruned"]
    assert pruned and all(t.mean is not None for t in pruned)
    assert outcome.best.state == "complete" and outcome.best.mean > 0.3


def test_leaf_sizes_are_bounded_by_the_smallest_fold(wine: tuple[pd.DataFrame, pd.Series]) -> None:
    """178 wines in 3 folds: ~118 training rows, so leaves of at most 29 rows are tried."""
    X, y = wine
    spec = ModelSpec(TrainSettings(seed=3), [], MULTICLASS, sorted(y.unique()))
    settings = search(8, families=["hist_gradient_boosting"])
    outcome = run_search(X, y, spec, cv_splitter("stratified", 3, 3, MULTICLASS), settings)
    leaves = [t.params["min_samples_leaf"] for t in outcome.trials]
    assert max(leaves) <= 118 // 4 and min(leaves) >= 5


def test_a_failing_trial_is_recorded_and_every_failure_is_an_error(wine: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = wine
    broken = X.assign(alcohol=np.where(np.arange(len(X)) % 2, np.inf, X["alcohol"]))  # no family fits inf
    spec = ModelSpec(TrainSettings(seed=3), [], MULTICLASS, sorted(y.unique()))
    settings = search(3, families=["logistic_regression", "random_forest"], pruning=False)
    with pytest.raises(LifecycleError, match=r"search: every one of the 3 trials failed; the first: ValueError: .*inf"):
        run_search(broken, y, spec, cv_splitter("stratified", 3, 3, MULTICLASS), settings)
