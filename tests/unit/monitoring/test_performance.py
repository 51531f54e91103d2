"""Live performance: ROC-AUC by ranks equals scikit-learn's, seeded bootstrap intervals, windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from lifecycle.monitoring.performance import TiedScores, bootstrap, main_scorer, rank_auc, window_starts
from lifecycle.tasks.registry import task_named
from tests.support.samples import Scored


def test_rank_auc_equals_scikit_learns_with_ties(scored: Scored) -> None:
    truth, probability = scored.y, scored.probability
    assert rank_auc(truth, probability) == pytest.approx(roc_auc_score(truth, probability), abs=1e-12)
    tied = np.round(probability, 1)  # many ties
    assert rank_auc(truth, tied) == pytest.approx(roc_auc_score(truth, tied), abs=1e-12)
    with pytest.raises(ValueError):
        rank_auc(np.zeros(5, dtype=int), probability[:5])


def test_the_main_scorer_is_the_tasks_metric(scored: Scored) -> None:
    binary = task_named("binary")
    truth, probability = scored.y, scored.probability
    expected = binary.score_metrics(truth, probability, [False, True])
    for metric in ("roc_auc", "average_precision"):
        score = main_scorer(binary, [False, True], metric)(truth, probability)
        assert score == pytest.approx(expected[metric], abs=1e-6)


def test_bootstrap_is_seeded_and_brackets_the_value(scored: Scored) -> None:
    truth, probability = scored.y, scored.probability
    first = bootstrap(rank_auc, truth, probability, resamples=100, confidence=0.9, seed=3)
    again = bootstrap(rank_auc, truth, probability, resamples=100, confidence=0.9, seed=3)
    wider = bootstrap(rank_auc, truth, probability, resamples=100, confidence=0.99, seed=3)
    assert first == again and first.rows == len(truth)
    assert first.low < first.value < first.high
    assert wider.low <= first.low and wider.high >= first.high
    few = bootstrap(rank_auc, truth[:10], probability[:10], resamples=100, confidence=0.9, seed=3)
    assert few.low is None and few.high is None and few.rows == 10
    one_class = bootstrap(rank_auc, np.ones(50, dtype=int), probability[:50], resamples=100, confidence=0.9, seed=3)
    assert one_class.value is None


def test_resampled_auc_by_tie_groups_is_rank_auc_bit_for_bit(scored: Scored) -> None:
    truth = scored.y
    for probability in (scored.probability, np.round(scored.probability, 2)):  # distinct scores; many ties
        counted = TiedScores(truth, probability)
        rng = np.random.default_rng(5)
        for _ in range(20):
            drawn = rng.integers(0, len(truth), len(truth))
            assert counted.auc(drawn) == rank_auc(truth[drawn], probability[drawn])
        assert counted.auc(np.flatnonzero(truth == 0)) is None  # one class: undefined


def test_bootstrap_of_rank_auc_draws_what_the_generic_loop_draws(scored: Scored) -> None:
    truth, probability = scored.y, scored.probability
    generic = bootstrap(lambda t, s: rank_auc(t, s), truth, probability, resamples=50, confidence=0.9, seed=3)
    assert bootstrap(rank_auc, truth, probability, resamples=50, confidence=0.9, seed=3) == generic


def test_windows_start_at_since_and_cover_until() -> None:
    since, until = pd.Timestamp("2013-11-01", tz="UTC"), pd.Timestamp("2013-11-16", tz="UTC")
    assert [s.day for s in window_starts(since, until, "week")] == [1, 8, 15]
    assert len(window_starts(since, until, "day")) == 15
