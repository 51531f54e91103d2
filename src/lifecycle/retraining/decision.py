"""Whether a challenger beats the champion: MLflow's metric thresholds, plus a slice rule.

Per metric, MLflow's `validate_evaluation_results` semantics (`MetricThreshold`): the
challenger's value must reach `threshold`, and improve on the champion's by at least
`min_absolute_change` and by at least `min_relative_change` of the champion's value (each
mirrored where lower is better; an unset one is not checked). Then a rule none of the known
tools has: no slice of at least `slice_min_rows` holdout rows may get worse by more than
`slice_tolerance`, because an average can rise while a group of users loses (the pull-request
review's own `slice_regressions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.config import ChallengeSettings, MetricThreshold
from lifecycle.review.comparison import direction, slice_regressions


@dataclass(frozen=True)
class Decision:
    """The verdict and one sentence per rule that decided it (failures first)."""

    challenger_wins: bool
    reasons: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"challenger_wins": self.challenger_wins, "reasons": self.reasons}


def greater_is_better(metric: str, threshold: MetricThreshold) -> bool:
    """As declared, else as the metric's name says (losses and errors: lower is better)."""
    if threshold.greater_is_better is not None:
        return threshold.greater_is_better
    return direction(metric) >= 0


def metric_failures(metric: str, champion: float, challenger: float, threshold: MetricThreshold) -> list[str]:
    """Each MLflow check the challenger's `metric` fails, as a sentence."""
    sign = 1 if greater_is_better(metric, threshold) else -1
    word = "at least" if sign > 0 else "at most"
    failures = []
    if threshold.threshold is not None and sign * (challenger - threshold.threshold) < 0:
        failures.append(f"{metric} {challenger:.4f} is not {word} the threshold {threshold.threshold:g}")
    if threshold.min_absolute_change is not None:
        needed = champion + sign * threshold.min_absolute_change
        if sign * (challenger - needed) < 0:
            failures.append(
                f"{metric} {challenger:.4f} is not {word} the champion's {champion:.4f} "
                f"{'+' if sign > 0 else '-'} {threshold.min_absolute_change:g}"
            )
    if threshold.min_relative_change is not None:
        needed = champion * (1 + sign * threshold.min_relative_change)
        if sign * (challenger - needed) < 0:
            failures.append(
                f"{metric} {challenger:.4f} is not {word} the champion's {champion:.4f} "
                f"{'improved' if sign > 0 else 'reduced'} by {threshold.min_relative_change:.1%}"
            )
    return failures


def decide(
    champion: Mapping[str, float],
    challenger: Mapping[str, float],
    thresholds: Mapping[str, MetricThreshold],
    champion_slices: dict[str, Any],
    challenger_slices: dict[str, Any],
    settings: ChallengeSettings,
) -> Decision:
    """The challenger wins when it passes every metric threshold and no large slice got worse."""
    failures: list[str] = []
    passes: list[str] = []
    for metric, threshold in thresholds.items():
        if metric not in champion or metric not in challenger:
            failures.append(f"{metric} is not a metric of this task: it cannot be compared")
            continue
        failed = metric_failures(metric, champion[metric], challenger[metric], threshold)
        failures += failed
        if not failed:
            passes.append(f"{metric} {challenger[metric]:.4f} against the champion's {champion[metric]:.4f}: passes")
    dropped = slice_regressions(champion_slices, challenger_slices, settings.slice_min_rows, settings.slice_tolerance)
    failures += [f"slice worse by more than {settings.slice_tolerance:g}: {text.replace('`', '')}" for text in dropped]
    if not dropped:
        passes.append(
            f"no slice of at least {settings.slice_min_rows} rows worse by more than {settings.slice_tolerance:g}"
        )
    return Decision(not failures, [*failures, *passes])
