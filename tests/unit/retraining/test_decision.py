"""The challenge's decision: MLflow's MetricThreshold semantics per metric, then the slice rule."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.config import ChallengeSettings, MetricThreshold
from lifecycle.retraining.decision import decide, greater_is_better, metric_failures


def slices(**values: float) -> dict[str, Any]:
    """A slice table as slices.json holds it: carrier slices of 1,000 rows ranked by roc_auc."""
    rows = [{"value": name, "rows": 1000, "roc_auc": value} for name, value in values.items()]
    return {"ranked_by": "roc_auc", "by_column": {"carrier": rows}, "worst": []}


@pytest.mark.parametrize(
    ("champion", "challenger", "threshold", "failed"),
    [
        (0.70, 0.71, MetricThreshold(min_absolute_change=0.01), False),  # exactly +0.01 passes (>=)
        (0.70, 0.7099, MetricThreshold(min_absolute_change=0.01), True),
        (0.70, 0.77, MetricThreshold(min_relative_change=0.1), False),  # 0.70 * 1.1
        (0.70, 0.76, MetricThreshold(min_relative_change=0.1), True),
        (0.70, 0.69, MetricThreshold(threshold=0.65), False),  # no change threshold: only the floor
        (0.70, 0.64, MetricThreshold(threshold=0.65), True),
        (0.70, 0.60, MetricThreshold(), False),  # nothing set: nothing checked
    ],
)
def test_greater_is_better_follows_mlflow(
    champion: float, challenger: float, threshold: MetricThreshold, failed: bool
) -> None:
    assert bool(metric_failures("roc_auc", champion, challenger, threshold)) == failed


def test_lower_is_better_mirrors_every_check() -> None:
    loss = MetricThreshold(min_absolute_change=0.01, min_relative_change=0.05, threshold=0.5)
    assert not greater_is_better("log_loss", MetricThreshold()) and greater_is_better("roc_auc", MetricThreshold())
    assert metric_failures("log_loss", 0.48, 0.45, loss) == []  # 0.45 <= 0.47, <= 0.456, <= 0.5
    failures = metric_failures("log_loss", 0.48, 0.465, loss)
    assert failures == ["log_loss 0.4650 is not at most the champion's 0.4800 reduced by 5.0%"]
    declared = MetricThreshold(greater_is_better=True, min_absolute_change=0.0)
    assert metric_failures("log_loss", 0.48, 0.45, declared) != []  # declared direction wins over the name


def test_a_large_slice_that_got_worse_makes_the_challenger_lose() -> None:
    settings = ChallengeSettings(slice_min_rows=500, slice_tolerance=0.02)
    thresholds = {"roc_auc": MetricThreshold(min_absolute_change=0.001)}
    champion, challenger = {"roc_auc": 0.70}, {"roc_auc": 0.72}
    wins = decide(champion, challenger, thresholds, slices(UA=0.70, DL=0.68), slices(UA=0.69, DL=0.71), settings)
    assert wins.challenger_wins and wins.reasons[0].startswith("roc_auc 0.7200 against the champion's 0.7000")
    loses = decide(champion, challenger, thresholds, slices(UA=0.70, DL=0.68), slices(UA=0.65, DL=0.75), settings)
    assert not loses.challenger_wins
    assert loses.reasons[0] == "slice worse by more than 0.02: carrier=UA 0.7000 → 0.6500 (1,000 rows)"
    small = settings.model_copy(update={"slice_min_rows": 5000})  # the slices are too small to count
    assert decide(champion, challenger, thresholds, slices(UA=0.70), slices(UA=0.65), small).challenger_wins
    unknown = decide(champion, challenger, {"r2": MetricThreshold()}, slices(), slices(), settings)
    assert not unknown.challenger_wins and unknown.reasons[0].startswith("r2 is not a metric of this task")
