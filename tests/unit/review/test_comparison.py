"""The pull-request review's pure parts: key flattening, direction, changes, the gate, Markdown."""

from __future__ import annotations

from typing import Any

import pytest
from dvc.repo.metrics.show import _extract_metrics
from dvc.utils.flatten import flatten as dvc_flatten

from lifecycle.review.comparison import (
    Change,
    compare,
    cv_noise,
    direction,
    flatten,
    gate,
    metrics_table,
    slice_regressions,
)

# Shaped like metrics/evaluate.json (abridged), with a list as plot-like data.
EVALUATE: dict[str, Any] = {
    "roc_auc": 0.732896,
    "log_loss": 0.488872,
    "rows": 54065,
    "at_0_5": {
        "f1": 0.369055,
        "threshold": 0.5,
        "confusion": {"fn": 10094, "fp": 1593, "tn": 38960, "tp": 3418},
    },
    "diagnosis": {
        "verdict": "good fit",
        "train": 0.784975,
        "validation": 0.738291,
        "train_validation_gap": 0.046684,
    },
    "baselines": {"prior": {"roc_auc": 0.5, "brier": 0.187695}},
    "curve": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 1.0, "tpr": 1.0}],
}


# --- flatten ----------------------------------------------------------------------------


def test_flatten_names_keys_as_dvc_metrics_does() -> None:
    flat = flatten(EVALUATE)
    assert flat == dvc_flatten(_extract_metrics(EVALUATE, "metrics/evaluate.json"))
    assert flat["diagnosis.train"] == 0.784975
    assert flat["at_0_5.confusion.tp"] == 3418
    assert flat["diagnosis.verdict"] == "good fit"
    assert flat["baselines.prior.roc_auc"] == 0.5


def test_flatten_drops_lists_and_empty_branches() -> None:
    flat = flatten({**EVALUATE, "nothing": {}, "none": None, "nested": {"points": [1, 2]}})
    assert not any(key.startswith(("curve", "nothing", "none", "nested")) for key in flat)
    without_list = {key: value for key, value in EVALUATE.items() if key != "curve"}
    assert flat == flatten(without_list) and len(flat) == 15  # 3 + 6 at_0_5 + 4 diagnosis + 2 baselines


# --- direction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "sign"),
    [
        ("roc_auc", 1),
        ("at_0_5.f1", 1),
        ("baselines.prior.average_precision", 1),
        ("log_loss", -1),
        ("lift.prior.brier", -1),
        ("cv.validation_roc_auc.mean", 1),
        ("cv.train_roc_auc.mean", 1),
        ("cv.validation_log_loss.mean", -1),
        ("cv.validation_roc_auc.std", 0),  # a spread, not a score
        ("at_0_5.confusion.tp", 0),
        ("diagnosis.train", 0),
        ("rows", 0),
        ("threshold", 0),
        ("mean", 0),
    ],
)
def test_direction(key: str, sign: int) -> None:
    assert direction(key) == sign


# --- Change -----------------------------------------------------------------------------


def test_change_higher_is_better() -> None:
    up = Change("metrics/evaluate.json", "roc_auc", 0.70, 0.72)
    assert up.diff == pytest.approx(0.02)
    assert up.relative == pytest.approx(0.02 / 0.70)
    assert up.verdict == "better"
    assert Change("f", "roc_auc", 0.72, 0.70).verdict == "worse"


def test_change_lower_is_better() -> None:
    assert Change("f", "log_loss", 0.50, 0.45).verdict == "better"
    assert Change("f", "cv.validation_brier.mean", 0.15, 0.16).verdict == "worse"
    down = Change("f", "log_loss", -2.0, -3.0)
    assert down.relative == pytest.approx(-0.5)  # relative to |old|, so the sign is the diff's


def test_change_without_direction_or_numbers() -> None:
    assert Change("f", "roc_auc", 0.7, 0.7).verdict == "same"
    assert Change("f", "rows", 100, 120).verdict == ""
    assert Change("f", "rows", 100, 120).diff == 20
    verdict = Change("f", "diagnosis.verdict", "good fit", "overfit")
    assert (verdict.diff, verdict.relative, verdict.verdict) == (None, None, "")
    added = Change("f", "roc_auc", None, 0.7)
    assert (added.diff, added.verdict) == (None, "")
    assert Change("f", "roc_auc", 0, 0.5).relative is None  # no relative change from zero
    assert Change("f", "flag", True, False).diff is None  # booleans are not numbers


# --- compare ----------------------------------------------------------------------------


def test_compare_lists_changed_added_and_removed_keys() -> None:
    diagnosis = {**EVALUATE["diagnosis"], "verdict": "overfit"}
    workspace = {**EVALUATE, "roc_auc": 0.74, "brier": 0.15, "diagnosis": diagnosis}
    del workspace["rows"]
    changes = compare(EVALUATE, workspace, "metrics/evaluate.json")
    assert [c.key for c in changes] == ["brier", "diagnosis.verdict", "roc_auc", "rows"]
    by_key = {c.key: c for c in changes}
    assert (by_key["brier"].old, by_key["brier"].new) == (None, 0.15)
    assert (by_key["rows"].old, by_key["rows"].new) == (54065, None)
    assert by_key["roc_auc"].verdict == "better"
    assert all(c.file == "metrics/evaluate.json" for c in changes)


def test_compare_everything_when_asked() -> None:
    changes = compare(EVALUATE, {**EVALUATE, "roc_auc": 0.74}, "f", changed_only=False)
    assert [c.key for c in changes] == sorted(flatten(EVALUATE))
    assert sum(c.old != c.new for c in changes) == 1
    assert compare(EVALUATE, EVALUATE, "f") == []


# --- gate -------------------------------------------------------------------------------


def test_gate_passes_within_tolerance() -> None:
    result = gate({"roc_auc": 0.7300}, {"roc_auc": 0.7260}, "roc_auc", 0.005)
    assert result.passed
    assert result.summary().startswith("**Gate: PASSED**")
    assert "0.7300 → 0.7260" in result.summary() and "-0.0040" in result.summary()


def test_gate_fails_past_tolerance() -> None:
    result = gate({"roc_auc": 0.7300}, {"roc_auc": 0.7200}, "roc_auc", 0.005)
    assert not result.passed
    assert result.summary().startswith("**Gate: FAILED**")


def test_gate_passes_improvements_and_zero_tolerance_equality() -> None:
    assert gate({"roc_auc": 0.70}, {"roc_auc": 0.80}, "roc_auc", 0.0).passed
    assert gate({"roc_auc": 0.70}, {"roc_auc": 0.70}, "roc_auc", 0.0).passed
    assert not gate({"roc_auc": 0.70}, {"roc_auc": 0.6999}, "roc_auc", 0.0).passed


def test_gate_on_a_lower_is_better_metric() -> None:
    assert not gate({"log_loss": 0.48}, {"log_loss": 0.50}, "log_loss", 0.005).passed
    assert gate({"log_loss": 0.48}, {"log_loss": 0.40}, "log_loss", 0.005).passed


def test_gate_reads_nested_metrics() -> None:
    base = {"diagnosis": {"validation": 0.74}}
    assert not gate(base, {"diagnosis": {"validation": 0.70}}, "diagnosis.validation", 0.01).passed
    assert gate(base, {"diagnosis": {"validation": 0.735}}, "diagnosis.validation", 0.01).passed


def test_gate_passes_when_the_base_lacks_the_metric() -> None:
    result = gate({}, {"roc_auc": 0.71}, "roc_auc", 0.005)
    assert result.passed and result.old is None
    assert "PASSED" in result.summary() and "base has no value" in result.summary()
    assert gate({"roc_auc": "n/a"}, {"roc_auc": 0.71}, "roc_auc", 0.005).old is None


def test_gate_summary_fails_when_the_workspace_lacks_the_metric() -> None:
    result = gate({"roc_auc": 0.73}, {"auc": 0.75}, "roc_auc", 0.005)
    assert result.new is None
    assert result.summary().startswith("**Gate: FAILED**") and "`roc_auc`" in result.summary()


def test_gate_fails_when_the_workspace_lacks_the_metric() -> None:
    assert not gate({"roc_auc": 0.73}, {"auc": 0.75}, "roc_auc", 0.005).passed
    assert not gate({}, {}, "roc_auc", 0.005).passed


def test_gate_passes_a_drop_equal_to_the_tolerance() -> None:
    assert gate({"roc_auc": 0.73}, {"roc_auc": 0.725}, "roc_auc", 0.005).passed


def _diagnosed(score: float, verdict: str) -> dict[str, Any]:
    return {"roc_auc": score, "diagnosis": {"verdict": verdict}}


def test_a_flip_to_overfit_fails_the_gate_although_the_metric_rose() -> None:
    result = gate(_diagnosed(0.73, "good fit"), _diagnosed(0.74, "overfit"), "roc_auc", 0.005)
    assert result.metric_passed and result.became_overfit and not result.passed
    assert result.summary().startswith("**Gate: FAILED**")
    assert "**Fit verdict changed: good fit → overfit**: fails the gate" in result.summary()


def test_params_can_accept_a_flip_to_overfit() -> None:
    result = gate(_diagnosed(0.73, "good fit"), _diagnosed(0.74, "overfit"), "roc_auc", 0.005, allow_overfit=True)
    assert result.passed and "accepted (`report.allow_overfit`)" in result.summary()


def test_other_verdict_changes_are_reported_not_gated() -> None:
    staying = gate(_diagnosed(0.73, "overfit"), _diagnosed(0.73, "overfit"), "roc_auc", 0.005)
    assert staying.passed and not staying.became_overfit and "verdict" not in staying.summary()
    better = gate(_diagnosed(0.73, "overfit"), _diagnosed(0.74, "good fit"), "roc_auc", 0.005)
    assert better.passed and "**Fit verdict changed: overfit → good fit**." in better.summary()
    unknown_base = gate({"roc_auc": 0.73}, _diagnosed(0.74, "overfit"), "roc_auc", 0.005)
    assert unknown_base.passed  # nothing to compare: an older base without a diagnosis


def test_a_change_smaller_than_the_cv_std_is_noise() -> None:
    noise = cv_noise({"cv": {"validation_roc_auc": {"mean": 0.74, "std": 0.016}, "train_roc_auc": {"std": 0.5}}})
    assert noise == {"roc_auc": 0.016}
    small, large = (compare({"roc_auc": 0.7330}, {"roc_auc": new}, "m", noise=noise)[0] for new in (0.7323, 0.7100))
    assert small.verdict == "noise" and large.verdict == "worse"
    assert "≈ (within CV std)" in metrics_table([small])[-1] and "🔴" in metrics_table([large])[-1]
    assert compare({"log_loss": 0.48}, {"log_loss": 0.47}, "m", noise=noise)[0].verdict == "better"


def test_counts_change_by_whole_numbers() -> None:
    (change,) = compare({"confusion": {"fn": 10094}}, {"confusion": {"fn": 10041}}, "m")
    assert "| -53 |" in metrics_table([change])[-1]


SLICES_BASE = {  # as earlier revisions wrote slices.json: a dict keyed by value
    "ranked_by": "roc_auc",
    "by_column": {"carrier": {"VX": {"roc_auc": 0.70, "rows": 900}, "UA": {"roc_auc": 0.70, "rows": 9000},
                              "OO": {"roc_auc": 0.80, "rows": 30}}},
}  # fmt: skip


def test_slices_that_dropped_are_listed_worst_first() -> None:
    workspace = {  # as slices.json is written now: a list of rows per column
        "ranked_by": "roc_auc",
        "by_column": {"carrier": [{"value": "OO", "roc_auc": 0.50, "rows": 30},
                                  {"value": "UA", "roc_auc": 0.67, "rows": 9000},
                                  {"value": "VX", "roc_auc": 0.65, "rows": 900}]},
    }  # fmt: skip
    found = slice_regressions(SLICES_BASE, workspace, min_rows=500, tolerance=0.02)
    assert found == ["`carrier=VX` 0.7000 → 0.6500 (900 rows)", "`carrier=UA` 0.7000 → 0.6700 (9,000 rows)"]
    assert slice_regressions(SLICES_BASE, workspace, min_rows=500, tolerance=0.04) == [found[0]]
    assert slice_regressions(workspace, workspace, min_rows=1, tolerance=0.0) == []
    assert slice_regressions(SLICES_BASE, {**workspace, "ranked_by": "f1"}, 500, 0.02) == []  # not comparable
