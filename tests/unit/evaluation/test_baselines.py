"""Baselines and lift on the featurized real sample (binary) and on scikit-learn's bundled wine
(multiclass) and diabetes (regression) data; the threshold-free metric helpers they use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import Ridge
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle.errors import LifecycleError
from lifecycle.evaluation.baselines import baseline_metrics, lift
from lifecycle.metrics.binary import HEADLINE_METRICS, classification_metrics, probability_metrics, score_metrics
from lifecycle.metrics.multiclass import HEADLINE_METRICS as MULTICLASS_HEADLINE
from lifecycle.metrics.regression import HEADLINE_METRICS as REGRESSION_HEADLINE
from lifecycle.tasks.binary import BINARY
from lifecycle.tasks.multiclass import MULTICLASS
from lifecycle.tasks.registry import LOWER_IS_BETTER, task_named
from lifecycle.tasks.regression import REGRESSION
from tests.support.samples import Featurized, Scored

PROBABILITY_KEYS = {"roc_auc", "average_precision", "log_loss", "brier"}


@pytest.fixture(scope="module")
def baselines(featurized: Featurized) -> dict[str, dict[str, float]]:
    return baseline_metrics(featurized.X, featurized.y, featurized.X_test, featurized.y_test, seed=13)


@pytest.fixture(scope="module")
def model_metrics(scored: Scored) -> dict[str, object]:
    """Test metrics of a small gradient-boosting model, shaped like evaluate's metrics."""
    return classification_metrics(scored.y, scored.probability, 0.5)


# --- baseline_metrics -------------------------------------------------------------------


def test_baselines_are_named_and_threshold_free(baselines: dict[str, dict[str, float]]) -> None:
    assert set(baselines) == {"prior", "logistic_regression"}
    for scores in baselines.values():
        assert set(scores) == PROBABILITY_KEYS


def test_prior_predicts_the_train_positive_rate(baselines: dict[str, dict[str, float]], featurized: Featurized) -> None:
    prior = baselines["prior"]
    assert prior["roc_auc"] == 0.5
    rate = np.full(len(featurized.y_test), featurized.y.mean())
    assert prior["brier"] == round(brier_score_loss(featurized.y_test, rate), 6)
    assert prior["log_loss"] == round(log_loss(featurized.y_test, rate), 6)
    assert prior["average_precision"] == round(float(featurized.y_test.mean()), 6)


def test_logistic_baseline_beats_the_prior(baselines: dict[str, dict[str, float]]) -> None:
    """It ranks better. (Its losses need not beat the prior on this sample: the Nov-Dec test
    rows are delayed more often than the train rows, which only the prior's log loss forgives.)"""
    linear, prior = baselines["logistic_regression"], baselines["prior"]
    assert linear["roc_auc"] > prior["roc_auc"] + 0.05
    assert linear["average_precision"] > prior["average_precision"] + 0.05


def test_baselines_do_not_depend_on_the_seed(baselines: dict[str, dict[str, float]], featurized: Featurized) -> None:
    """The prior is a constant and the linear baseline's solver is deterministic, so another
    seed gives the same numbers: a lift never moves because evaluate.seed changed."""
    other_seed = baseline_metrics(featurized.X, featurized.y, featurized.X_test, featurized.y_test, seed=7)
    assert other_seed == baselines


# --- lift -------------------------------------------------------------------------------


def test_lift_is_model_minus_baseline(model_metrics: dict[str, object], baselines: dict[str, dict[str, float]]) -> None:
    result = lift(model_metrics, baselines)
    assert set(result) == set(baselines)
    for name, scores in baselines.items():
        assert set(result[name]) == set(scores)  # only shared metrics, not f1 or confusion
        for metric, value in scores.items():
            assert result[name][metric] == round(model_metrics[metric] - value, 6)


def test_lift_signs(model_metrics: dict[str, object], baselines: dict[str, dict[str, float]]) -> None:
    """Positive lift is better for scores, negative lift is better for losses (never flipped)."""
    linear_over_prior = lift(baselines["logistic_regression"], baselines)["prior"]
    assert linear_over_prior["roc_auc"] > 0.05 and linear_over_prior["average_precision"] > 0
    prior_over_linear = lift(baselines["prior"], baselines)["logistic_regression"]
    assert prior_over_linear["roc_auc"] < 0 and prior_over_linear["average_precision"] < 0
    over_prior = lift(model_metrics, baselines)["prior"]
    assert over_prior["roc_auc"] > 0.1
    # the boosting model's probabilities lose less than the linear baseline's
    assert model_metrics["log_loss"] < baselines["logistic_regression"]["log_loss"]
    over_linear = lift(model_metrics, baselines)["logistic_regression"]
    assert over_linear["log_loss"] < 0 and over_linear["brier"] < 0


def test_lift_over_itself_is_zero(baselines: dict[str, dict[str, float]]) -> None:
    for name, scores in baselines.items():
        assert set(lift(dict(scores), baselines)[name].values()) == {0.0}


# --- probability_metrics / score_metrics ------------------------------------------------


def test_probability_metrics_match_sklearn(featurized: Featurized) -> None:
    rng = np.random.default_rng(3)
    y = featurized.y_test
    probability = np.clip(0.25 + 0.3 * y + rng.normal(0, 0.2, len(y)), 0.01, 0.99)
    metrics = probability_metrics(y, probability)
    assert metrics == {
        "roc_auc": round(roc_auc_score(y, probability), 6),
        "average_precision": round(average_precision_score(y, probability), 6),
        "log_loss": round(log_loss(y, probability), 6),
        "brier": round(brier_score_loss(y, probability), 6),
    }


def test_probability_metrics_of_a_coin_flip(featurized: Featurized) -> None:
    """Constant 0.5 on real labels: no ranking, log loss ln 2, Brier 1/4 whatever the labels."""
    metrics = probability_metrics(featurized.y_test, np.full(len(featurized.y_test), 0.5))
    assert metrics["roc_auc"] == 0.5
    assert metrics["log_loss"] == round(float(np.log(2)), 6)
    assert metrics["brier"] == 0.25
    assert metrics["average_precision"] == round(float(featurized.y_test.mean()), 6)


def test_score_metrics_are_the_numeric_scores_at_0_5(featurized: Featurized) -> None:
    """score_metrics is what cross-validation averages: no counts, no threshold."""
    probability = np.clip(np.linspace(0, 1, len(featurized.y_test)), 0.001, 0.999)
    scores = score_metrics(featurized.y_test, probability)
    full = classification_metrics(featurized.y_test, probability, 0.5)
    assert set(scores) == PROBABILITY_KEYS | {"accuracy", "precision", "recall", "f1"}
    assert scores == {key: full[key] for key in scores}
    assert all(isinstance(value, float) for value in scores.values())


def test_binary_is_the_default_task(baselines: dict[str, dict[str, float]], featurized: Featurized) -> None:
    """Naming the task changes nothing for binary: same names, keys and values as before."""
    named = baseline_metrics(featurized.X, featurized.y, featurized.X_test, featurized.y_test, seed=13, task=BINARY)
    assert named == baselines


# --- multiclass and regression baselines, on scikit-learn's bundled real data ----------------


@dataclass
class Split:
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: np.ndarray


@pytest.fixture(scope="module")
def wine() -> Split:
    """Three wine cultivars (named, so the labels are strings) from 13 chemical measurements."""
    data = load_wine(as_frame=True)
    y = pd.Series(data.target_names[data.target.to_numpy()], index=data.data.index)
    X_train, X_test, y_train, y_test = train_test_split(data.data, y, test_size=0.4, stratify=y, random_state=0)
    return Split(X_train, y_train, X_test, y_test.to_numpy())


@pytest.fixture(scope="module")
def diabetes() -> Split:
    """Disease progression after one year from ten baseline measurements."""
    data = load_diabetes(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=0)
    return Split(X_train, y_train, X_test, y_test.to_numpy())


@pytest.fixture(scope="module")
def multiclass_baselines(wine: Split) -> dict[str, dict[str, float]]:
    return baseline_metrics(wine.X_train, wine.y_train, wine.X_test, wine.y_test, 13, MULTICLASS)


@pytest.fixture(scope="module")
def regression_baselines(diabetes: Split) -> dict[str, dict[str, float]]:
    return baseline_metrics(diabetes.X_train, diabetes.y_train, diabetes.X_test, diabetes.y_test, 13, REGRESSION)


def test_multiclass_baselines_are_named_and_scored(
    multiclass_baselines: dict[str, dict[str, float]],
) -> None:
    assert set(multiclass_baselines) == {"prior", "logistic_regression"}
    for scores in multiclass_baselines.values():
        assert tuple(scores) == ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss")
        assert set(scores) <= set(MULTICLASS_HEADLINE)  # so lift can subtract the model's


def test_multiclass_prior_predicts_the_train_shares(
    multiclass_baselines: dict[str, dict[str, float]], wine: Split
) -> None:
    prior = multiclass_baselines["prior"]
    classes = np.sort(wine.y_train.unique())
    shares = wine.y_train.value_counts(normalize=True)[classes].to_numpy()
    constant = np.tile(shares, (len(wine.y_test), 1))
    assert prior["log_loss"] == round(log_loss(wine.y_test, constant, labels=classes), 6)
    assert prior["roc_auc_ovr"] == 0.5  # the same probabilities for every row rank nothing
    majority = shares.argmax()
    assert prior["accuracy"] == round(float(np.mean(wine.y_test == classes[majority])), 6)


def test_multiclass_logistic_baseline_beats_the_prior(
    multiclass_baselines: dict[str, dict[str, float]],
) -> None:
    linear_over_prior = lift(multiclass_baselines["logistic_regression"], multiclass_baselines)
    gain = linear_over_prior["prior"]
    assert gain["accuracy"] > 0.3 and gain["f1_macro"] > 0.3 and gain["roc_auc_ovr"] > 0.3
    assert gain["log_loss"] < -0.5  # a loss: the improvement is negative


def test_regression_baselines_are_named_and_scored(
    regression_baselines: dict[str, dict[str, float]],
) -> None:
    assert set(regression_baselines) == {"mean", "linear_regression"}
    for scores in regression_baselines.values():
        assert tuple(scores) == ("r2", "rmse", "mae")
        assert set(scores) <= set(REGRESSION_HEADLINE)


def test_regression_mean_baseline_predicts_the_train_mean(
    regression_baselines: dict[str, dict[str, float]], diabetes: Split
) -> None:
    mean = regression_baselines["mean"]
    errors = diabetes.y_test - diabetes.y_train.mean()
    assert mean["r2"] <= 0  # R² is relative to the test mean, which the train mean cannot beat
    assert mean["rmse"] == round(float(np.sqrt(np.mean(errors**2))), 6)
    assert mean["mae"] == round(float(np.mean(np.abs(errors))), 6)


def test_regression_linear_baseline_beats_the_mean(
    regression_baselines: dict[str, dict[str, float]], diabetes: Split
) -> None:
    linear = regression_baselines["linear_regression"]
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    ridge.fit(diabetes.X_train, diabetes.y_train)
    assert linear["r2"] == round(r2_score(diabetes.y_test, ridge.predict(diabetes.X_test)), 6)
    gain = lift(linear, regression_baselines)["mean"]
    assert gain["r2"] > 0.3
    assert gain["rmse"] < 0 and gain["mae"] < 0  # losses: the improvement is negative


def test_task_baselines_do_not_depend_on_the_seed(
    multiclass_baselines: dict[str, dict[str, float]],
    regression_baselines: dict[str, dict[str, float]],
    wine: Split,
    diabetes: Split,
) -> None:
    other_seed = baseline_metrics(wine.X_train, wine.y_train, wine.X_test, wine.y_test, 7, MULTICLASS)
    assert other_seed == multiclass_baselines
    d = diabetes
    assert baseline_metrics(d.X_train, d.y_train, d.X_test, d.y_test, 7, REGRESSION) == regression_baselines


def test_an_unknown_task_is_refused() -> None:
    with pytest.raises(
        LifecycleError, match=r"unknown task 'ranking'; expected one of \['binary', 'multiclass', 'regression'\]"
    ):
        task_named("ranking")


def test_lower_is_better_names_every_task_s_losses() -> None:
    """lift never flips a sign; LOWER_IS_BETTER tells a reader which lifts to read negated."""
    assert LOWER_IS_BETTER & set(HEADLINE_METRICS) == {"log_loss", "brier"}
    assert LOWER_IS_BETTER & set(MULTICLASS_HEADLINE) == {"log_loss"}
    regression_losses = {"rmse", "mae", "mse", "median_absolute_error"}
    assert LOWER_IS_BETTER & set(REGRESSION_HEADLINE) == regression_losses
    assert "r2" not in LOWER_IS_BETTER and "roc_auc_ovr" not in LOWER_IS_BETTER
