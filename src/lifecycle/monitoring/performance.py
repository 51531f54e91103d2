"""Live performance: the task's metrics on the labelled predictions of a window, beside the
test metrics the bundle was packaged with.

A live metric on a few hundred labelled rows moves a lot by chance alone, so each main
metric comes with a percentile bootstrap interval (seeded: the same log gives the same
report), for the reader to weigh a drop against.
Computed per sub-window (day or week, for the trend) and per slice of the evaluate stage's
slice columns (its own `slice_metrics`, so a live slice means what a test slice means).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lifecycle.config import EvaluateSettings, MonitorSettings, SliceSettings
from lifecycle.evaluation.slices import slice_metrics
from lifecycle.metrics.rounding import rounded
from lifecycle.monitoring.keyed_labels import join_keyed
from lifecycle.tasks.base import Task

KEY = ["request_id", "row_index"]
# The log's columns live performance reads, beside the slice columns
LABELLED_COLUMNS = ["logged_at", "prediction", "probability", "probabilities"]
# The fewest labelled rows a bootstrap interval is drawn from; fewer give a value only.
MIN_BOOTSTRAP_ROWS = 20


@dataclass(frozen=True)
class Estimate:
    """A metric on `rows` labelled rows and its bootstrap interval (None when it cannot be
    computed: too few rows, or one class only for a score that needs both)."""

    value: float | None
    low: float | None
    high: float | None
    rows: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def join_labels(
    log: pd.DataFrame,
    labels: pd.DataFrame,
    keyed: pd.DataFrame,
    kinds: dict[str, str],
    slice_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """The logged predictions that have a label, with it as `actual`: the label sent for the
    row by request id, else the label of its key (`kinds`: the bundle's column -> kind).
    Only the log's columns live performance reads are carried (the outputs, and the input
    columns it slices by), not every input, which would copy most of a large window for nothing."""
    merged = log[KEY].merge(labels[[*KEY, "actual"]], on=KEY, how="left", validate="one_to_one")
    by_id = pd.Series(merged["actual"].to_numpy(), index=log.index, dtype=object)
    actual = by_id.where(by_id.notna(), join_keyed(log, keyed, kinds))
    carried = [*KEY, *LABELLED_COLUMNS, *(c for c in slice_columns if c in log and c not in LABELLED_COLUMNS)]
    return log[carried].assign(actual=actual)[actual.notna()].reset_index(drop=True)


def truth_and_scores(rows: pd.DataFrame, task: Task, classes: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """What the task's metrics read: for binary the 0/1 truth and the positive class's
    probability, for multiclass the labels and the class probabilities in model order, for
    regression the values and the predictions."""
    if not task.classification:
        return rows["actual"].to_numpy(dtype=float), rows["prediction"].to_numpy(dtype=float)
    if len(classes) == 2:
        truth = np.array([actual == classes[1] for actual in rows["actual"]], dtype=int)
        return truth, rows["probability"].to_numpy(dtype=float)
    matrix = np.array([[row[str(c)] for c in classes] for row in rows["probabilities"]], dtype=float)
    return rows["actual"].to_numpy(dtype=object), matrix


Scorer = Callable[[np.ndarray, np.ndarray], float]


def _safe(score: Scorer, truth: np.ndarray, scores: np.ndarray) -> float | None:
    """The score, or None where it is undefined (ROC-AUC of one class)."""
    if len(truth) == 0:
        return None
    try:
        value = score(truth, scores)
    except ValueError:
        return None
    return None if value is None or not np.isfinite(value) else float(value)


def bootstrap(
    score: Scorer, truth: np.ndarray, scores: np.ndarray, resamples: int, confidence: float, seed: int
) -> Estimate:
    """The score and its percentile bootstrap interval over `resamples` resamples of the rows
    (a resample where the score is undefined is skipped)."""
    value = _safe(score, truth, scores)
    if value is None or len(truth) < MIN_BOOTSTRAP_ROWS:
        return Estimate(None if value is None else rounded(value), None, None, len(truth))
    rng = np.random.default_rng(seed)
    resampled = (rng.integers(0, len(truth), len(truth)) for _ in range(resamples))
    if score is rank_auc and not np.isnan(scores).any():
        counted = TiedScores(truth, scores)
        draws = [counted.auc(drawn) for drawn in resampled]
    else:
        draws = [_safe(score, truth[i], scores[i]) for i in resampled]
    kept = [d for d in draws if d is not None]
    low, high = np.quantile(kept, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    return Estimate(rounded(value), rounded(low), rounded(high), len(truth))


def rank_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Binary ROC-AUC as the Mann-Whitney statistic (ties count half), equal to scikit-learn's
    `roc_auc_score` (a test checks) at a hundredth of its cost: the bootstrap scores every
    window and slice hundreds of times, and scikit-learn's input checks dominate each call."""
    positive = truth == 1
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("ROC-AUC needs both classes")
    ranks = stats.rankdata(scores)
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


class TiedScores:
    """Binary ROC-AUC of bootstrap resamples in linear time: the scores are grouped by value
    once, and a resample only counts how many of its drawn rows fall in each (group, class).

    Why: `rank_auc` sorts every resample, so 200 resamples of a million labelled rows spend
    most of a monitor run sorting. A resample's rows are the original rows repeated, so its
    ties are the original groups, and its Mann-Whitney U is a sum over groups of positives
    times the negatives below (ties half). Counted in whole numbers (exact in float64 far
    beyond any log), U / (positives * negatives) is the same rational number `rank_auc`
    divides out, rounded once: the same float, bit for bit (a test checks).
    """

    def __init__(self, truth: np.ndarray, scores: np.ndarray) -> None:
        groups = np.unique(scores, return_inverse=True)[1].reshape(-1)
        self.groups = int(groups.max()) + 1 if len(groups) else 0
        # one code per row: its group's slot, even for a negative and odd for a positive
        self.codes = groups * 2 + (truth == 1)

    def auc(self, drawn: np.ndarray) -> float | None:
        """ROC-AUC of the rows at `drawn` (indices, repeats allowed); None with one class only."""
        counts = np.bincount(self.codes[drawn], minlength=2 * self.groups).astype(np.float64)
        negatives, positives = counts[0::2], counts[1::2]
        total_negatives, total_positives = negatives.sum(), positives.sum()
        if total_negatives == 0 or total_positives == 0:
            return None
        below = np.cumsum(negatives) - negatives  # negatives scored strictly lower, per group
        twice_u = 2 * np.dot(positives, below) + np.dot(positives, negatives)
        return float(twice_u / (2 * total_positives * total_negatives))


def main_scorer(task: Task, classes: Sequence[Any], metric: str) -> Scorer:
    """The task's `metric` as one function of (truth, scores), as cross-validation scores it
    (binary ROC-AUC by `rank_auc`)."""
    if task.classification and len(classes) == 2 and metric == "roc_auc":
        return rank_auc
    return lambda truth, scores: task.score_metrics(truth, scores, classes)[metric]


@dataclass(frozen=True)
class LivePerformance:
    """Performance of one window's labelled predictions."""

    metric: str
    test_value: float | None  # the bundle's test metric
    predictions: int
    labelled: int
    overall: Estimate
    headline: dict[str, float]  # every headline metric as the evaluate stage computes it
    windows: list[dict[str, Any]]  # per sub-window: start, predictions, labelled and the estimate
    slices: dict[str, Any]  # evaluate's slice table on the live rows, the worst with intervals
    test_slices: dict[str, Any]  # the same table on test, from the bundle's reference profile

    @property
    def share_labelled(self) -> float:
        return rounded(self.labelled / self.predictions) if self.predictions else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "test": self.test_value,
            "predictions": self.predictions,
            "labelled": self.labelled,
            "share_labelled": self.share_labelled,
            "overall": self.overall.as_json(),
            "headline": self.headline,
            "windows": self.windows,
            "slices": self.slices,
        }


def window_starts(since: pd.Timestamp, until: pd.Timestamp, window: str) -> list[pd.Timestamp]:
    """The starts of the day or week sub-windows of [since, until), counted from `since`."""
    step = pd.Timedelta(days=7 if window == "week" else 1)
    return list(pd.date_range(since, until - pd.Timedelta(microseconds=1), freq=step))


def live_performance(
    window_log: pd.DataFrame,
    labelled: pd.DataFrame,
    task: Task,
    classes: Sequence[Any],
    threshold: float | None,
    test_metrics: dict[str, Any],
    test_slices: dict[str, Any],
    evaluate: EvaluateSettings,
    settings: MonitorSettings,
    since: pd.Timestamp,
    until: pd.Timestamp,
) -> LivePerformance:
    """Metrics of `labelled` (the window's predictions that have a label, see `join_labels`)
    overall, per sub-window and per slice, with bootstrap intervals of the main metric."""
    metric = task.main_metric(settings.metric, "monitor.metric")
    score = main_scorer(task, classes, metric)
    truth, scores = truth_and_scores(labelled, task, classes)
    estimate = _estimator(score, settings)
    headline: dict[str, float] = {}
    if _safe(score, truth, scores) is not None:
        measured = task.evaluate(truth, scores, classes, threshold, evaluate).metrics
        headline = {name: measured[name] for name in task.headline_metrics if name in measured}
    overall = estimate(truth, scores)
    windows = []
    for start in window_starts(since, until, settings.window):
        end = start + pd.Timedelta(days=7 if settings.window == "week" else 1)
        logged = window_log["logged_at"].between(start, end, inclusive="left")
        mask = labelled["logged_at"].between(start, end, inclusive="left").to_numpy()
        # a sub-window holding every labelled row (a week judged as one week) is the overall estimate
        windowed = overall if mask.all() else estimate(truth[mask], scores[mask])
        windows.append({"start": start.isoformat(), "predictions": int(logged.sum()), **windowed.as_json()})
    return LivePerformance(
        metric=metric,
        test_value=test_metrics.get(metric),
        predictions=len(window_log),
        labelled=len(labelled),
        overall=overall,
        headline=headline,
        windows=windows,
        slices=_slices(labelled, truth, scores, task, classes, threshold, evaluate, settings, estimate),
        test_slices=test_slices,
    )


def _estimator(score: Scorer, settings: MonitorSettings) -> Callable[[np.ndarray, np.ndarray], Estimate]:
    return lambda truth, scores: bootstrap(score, truth, scores, settings.bootstrap, settings.confidence, settings.seed)


def _slices(
    labelled: pd.DataFrame,
    truth: np.ndarray,
    scores: np.ndarray,
    task: Task,
    classes: Sequence[Any],
    threshold: float | None,
    evaluate: EvaluateSettings,
    settings: MonitorSettings,
    estimate: Callable[[np.ndarray, np.ndarray], Estimate],
) -> dict[str, Any]:
    """Evaluate's slice table on the live rows; the worst slices get an interval of the main metric."""
    columns = [c for c in evaluate.slices.columns if c in labelled.columns]
    slicing = SliceSettings(columns=columns, min_rows=settings.slice_min_rows, worst=evaluate.slices.worst)
    if not len(labelled):
        return {"ranked_by": task.slice_ranked_by, "by_column": {}, "worst": []}
    table = slice_metrics(labelled.reset_index(drop=True), truth, scores, slicing, task, threshold, classes)
    for worst in table["worst"]:
        column, value = worst["slice"].split("=", 1)
        values = labelled[column].astype(object).where(labelled[column].notna(), "<missing>").astype(str)
        mask = (values == value).to_numpy()
        worst["interval"] = estimate(truth[mask], scores[mask]).as_json()
    return table
