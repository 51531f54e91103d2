"""The challenge's Markdown summary: the slice table only when a slice was scored by both."""

from __future__ import annotations

from typing import Any

from lifecycle.config import MetricThreshold
from lifecycle.monitoring.performance import Estimate
from lifecycle.retraining.challenge import ChallengeResult, Holdout, ModelScore
from lifecycle.retraining.decision import Decision
from lifecycle.retraining.report import summary_markdown

HEADER = "| slice (accuracy) | rows | champion | challenger | change |"


def score(role: str, accuracy: float, slices: dict[str, Any]) -> ModelScore:
    metrics = {"accuracy": accuracy}
    return ModelScore(role, "bundle", role[:4], metrics, ("accuracy",), Estimate(accuracy, None, None, 45), slices)


def result(champion_slices: dict[str, Any], challenger_slices: dict[str, Any]) -> ChallengeResult:
    return ChallengeResult(
        Holdout("live.parquet", "0" * 32, 45, 45, 45),
        "accuracy",
        {"accuracy": MetricThreshold(min_absolute_change=0.0)},
        score("champion", 0.9, champion_slices),
        score("challenger", 0.95, challenger_slices),
        Decision(True, ["accuracy 0.9500 against the champion's 0.9000: passes"]),
    )


def by_island(accuracy: float) -> dict[str, Any]:
    return {"ranked_by": "accuracy", "by_column": {"Island": [{"value": "Dream", "rows": 20, "accuracy": accuracy}]}}


def test_slices_scored_by_both_are_a_table() -> None:
    summary = summary_markdown(result(by_island(0.8), by_island(0.9)))
    assert (
        f"{HEADER}\n| --- | ---: | ---: | ---: | ---: |\n| Island=Dream | 20 | 0.8000 | 0.9000 | +0.1000 |" in summary
    )
    assert "No slice" not in summary


def test_no_slice_is_a_sentence_not_an_empty_table() -> None:
    for champion, challenger in (({}, {}), (by_island(0.8), {"ranked_by": "accuracy", "by_column": {}})):
        summary = summary_markdown(result(champion, challenger))
        assert "| slice (" not in summary
        assert "No slice is scored by both models" in summary
