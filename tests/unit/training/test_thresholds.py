"""Decision threshold rules, on constructed scores and on real out-of-fold predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from lifecycle.config import Params, ThresholdSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.binary import threshold_metrics
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.thresholds import choose_threshold
from tests.support.samples import Featurized, small

# Four rows worked by hand: thresholds 0.1 / 0.35 / 0.4 / 0.8 give
# precision 1/2, 2/3, 1/2, 1 and recall 1, 1, 1/2, 1/2 (F1 0.667, 0.8, 0.5, 0.667).
Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


@dataclass(frozen=True)
class OutOfFold:
    """Real train labels and the out-of-fold probabilities train chooses its threshold on."""

    y: np.ndarray
    probability: np.ndarray


@pytest.fixture(scope="module")
def oof(featurized: Featurized, params: Params) -> OutOfFold:
    settings = small(params.train, "logistic_regression", max_iter=1000)
    cv = cross_validation(featurized.X, featurized.y, ModelSpec(settings), cv_splitter("stratified", 3, 0))
    return OutOfFold(featurized.y.to_numpy(), cv.oof)


def rule(name: str, value: float = 0.5) -> ThresholdSettings:
    return ThresholdSettings(rule=name, value=value)


def scores_at(y: np.ndarray, probability: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(precision, recall, F1) of the labels `probability >= threshold`."""
    predicted = (probability >= threshold).astype(int)
    return (
        precision_score(y, predicted, zero_division=0),
        recall_score(y, predicted),
        f1_score(y, predicted, zero_division=0),
    )


@dataclass(frozen=True)
class Sweep:
    """Precision, recall and F1 at every distinct score used as threshold (ascending)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray


def sweep(y: np.ndarray, probability: np.ndarray) -> Sweep:
    """Counted directly with sorted scores, independently of sklearn's precision_recall_curve."""
    thresholds = np.unique(probability)
    everyone, positives = np.sort(probability), np.sort(probability[y == 1])
    predicted = len(everyone) - np.searchsorted(everyone, thresholds, side="left")
    tp = len(positives) - np.searchsorted(positives, thresholds, side="left")
    precision, recall = tp / predicted, tp / len(positives)
    with np.errstate(invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return Sweep(thresholds, precision, recall, f1)


# --- constructed cases ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("fixed", 0.37, 0.37),
        ("max_f1", 0.5, 0.35),
        ("min_precision", 0.9, 0.8),  # only 0.8 reaches precision 0.9
        ("min_precision", 0.6, 0.35),  # 0.35 and 0.8 reach 0.6; 0.35 has the better recall
        ("min_recall", 0.9, 0.35),  # 0.1 and 0.35 reach recall 1; 0.35 is more precise
        ("min_recall", 0.5, 0.8),  # every threshold reaches 0.5; 0.8 has precision 1
    ],
)
def test_rules_on_hand_worked_scores(name: str, value: float, expected: float) -> None:
    assert choose_threshold(Y, P, rule(name, value)) == pytest.approx(expected)


def test_fixed_ignores_the_data() -> None:
    assert choose_threshold(Y, P, rule("fixed", 0.2)) == 0.2
    assert choose_threshold(1 - Y, P[::-1], rule("fixed", 0.2)) == 0.2


def test_unreachable_precision_is_a_user_error(oof: OutOfFold) -> None:
    """A prior-only model (one constant score) never beats the base rate's precision."""
    constant = np.full(len(oof.y), oof.y.mean())
    assert oof.y.mean() < 0.9
    with pytest.raises(LifecycleError, match=r"no threshold reaches precision 0\.9 .*max_f1"):
        choose_threshold(oof.y, constant, rule("min_precision", 0.9))


def test_recall_target_is_always_reachable(oof: OutOfFold) -> None:
    """The lowest score labels every row positive, so any recall target < 1 is met."""
    constant = np.full(len(oof.y), 0.3)
    assert choose_threshold(oof.y, constant, rule("min_recall", 0.99)) == pytest.approx(0.3)


# --- real out-of-fold predictions -------------------------------------------------------


def test_max_f1_beats_every_other_threshold(oof: OutOfFold) -> None:
    chosen = choose_threshold(oof.y, oof.probability, rule("max_f1"))
    best = scores_at(oof.y, oof.probability, chosen)[2]
    assert best == pytest.approx(sweep(oof.y, oof.probability).f1.max(), abs=1e-12)
    assert best > scores_at(oof.y, oof.probability, 0.5)[2]  # not the default threshold


@pytest.mark.parametrize(
    ("reached", "best", "target"),
    [
        ("precision", "recall", 0.4),
        ("precision", "recall", 0.6),
        ("recall", "precision", 0.5),
        ("recall", "precision", 0.8),
    ],
)
def test_min_rule_has_the_best_other_score_reaching_it(oof: OutOfFold, reached: str, best: str, target: float) -> None:
    """min_precision: of the thresholds reaching the precision target, the one with the best
    recall; min_recall: the other way round."""
    chosen = choose_threshold(oof.y, oof.probability, rule(f"min_{reached}", target))
    precision, recall, _ = scores_at(oof.y, oof.probability, chosen)
    at_chosen = {"precision": precision, "recall": recall}
    assert at_chosen[reached] >= target
    every = sweep(oof.y, oof.probability)
    reaching = getattr(every, reached) >= target
    assert at_chosen[best] == pytest.approx(getattr(every, best)[reaching].max(), abs=1e-12)


def test_stricter_targets_move_the_threshold(oof: OutOfFold) -> None:
    precise = [choose_threshold(oof.y, oof.probability, rule("min_precision", v)) for v in (0.35, 0.5, 0.65)]
    assert precise == sorted(precise) and precise[0] < precise[-1]
    recalled = [choose_threshold(oof.y, oof.probability, rule("min_recall", v)) for v in (0.3, 0.6, 0.9)]
    assert recalled == sorted(recalled, reverse=True) and recalled[0] > recalled[-1]


# --- threshold_metrics ------------------------------------------------------------------


def test_threshold_metrics_counts_scores_equal_to_the_threshold_as_positive() -> None:
    metrics = threshold_metrics(Y, P, 0.35)
    assert metrics["confusion"] == {"tn": 1, "fp": 1, "fn": 0, "tp": 2}
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (
        pytest.approx(2 / 3, abs=1e-6),
        1.0,
        pytest.approx(0.8, abs=1e-6),
    )
    assert metrics["threshold"] == 0.35 and metrics["accuracy"] == 0.75


def test_threshold_metrics_at_the_extremes(oof: OutOfFold) -> None:
    everyone = threshold_metrics(oof.y, oof.probability, 0.0)
    assert everyone["recall"] == 1.0
    assert everyone["precision"] == round(float(oof.y.mean()), 6)
    assert everyone["confusion"]["tn"] == everyone["confusion"]["fn"] == 0
    nobody = threshold_metrics(oof.y, oof.probability, float(oof.probability.max()) + 1e-9)
    assert nobody["precision"] == nobody["recall"] == nobody["f1"] == 0.0  # zero_division=0
    assert nobody["confusion"]["tp"] == nobody["confusion"]["fp"] == 0
    assert nobody["confusion"]["tn"] + nobody["confusion"]["fn"] == len(oof.y)


def test_threshold_metrics_at_the_chosen_threshold_match_sklearn(oof: OutOfFold) -> None:
    chosen = choose_threshold(oof.y, oof.probability, rule("max_f1"))
    metrics = threshold_metrics(oof.y, oof.probability, chosen)
    precision, recall, f1 = scores_at(oof.y, oof.probability, chosen)
    assert metrics["precision"] == round(precision, 6)
    assert metrics["recall"] == round(recall, 6)
    assert metrics["f1"] == round(f1, 6)
    assert sum(metrics["confusion"].values()) == len(oof.y)
