"""Baselines and lift on the featurized real sample; the threshold-free metric helpers they use."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from conftest import Featurized, Scored
from lifecycle.baselines import baseline_metrics, lift
from lifecycle.evaluation import classification_metrics, probability_metrics, score_metrics

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


def test_prior_predicts_the_train_positive_rate(
    baselines: dict[str, dict[str, float]], featurized: Featurized
) -> None:
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


def test_baselines_are_seeded(baselines: dict[str, dict[str, float]], featurized: Featurized) -> None:
    again = baseline_metrics(featurized.X, featurized.y, featurized.X_test, featurized.y_test, seed=13)
    assert again == baselines


# --- lift -------------------------------------------------------------------------------


def test_lift_is_model_minus_baseline(
    model_metrics: dict[str, object], baselines: dict[str, dict[str, float]]
) -> None:
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
