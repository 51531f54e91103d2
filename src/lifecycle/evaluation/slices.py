"""Metrics per category value, and the worst slices, to show where the model fails."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lifecycle.config import SliceSettings
from lifecycle.errors import LifecycleError
from lifecycle.tasks.base import Task


def slice_metrics(
    rows: pd.DataFrame,
    y_true: np.ndarray,
    scores: np.ndarray,
    settings: SliceSettings,
    task: Task,
    threshold: float | None = None,
    classes: Sequence[object] | None = None,
) -> dict[str, object]:
    """Per column, one row per value: its rows and the task's slice metrics; plus the worst
    slices.

    Slices with fewer than `min_rows` rows are skipped, and for a task whose slice score
    needs both classes (binary ROC-AUC) those with a single class. `worst` ranks the rest
    by the task's `slice_ranked_by` (a higher-is-better score), lowest first. Both are lists
    of rows, so `dvc metrics show` and `dvc exp show` show `ranked_by` only, not a column
    per slice and metric.
    """
    score, ranked_by = task.slice_score(threshold, classes), task.slice_ranked_by
    missing = [c for c in settings.columns if c not in rows.columns]
    if missing:
        raise LifecycleError(f"evaluate.slices.columns: unknown column(s) {missing}")
    by_column: dict[str, list[dict[str, object]]] = {}
    ranked = []
    for column in settings.columns:
        by_column[column] = []
        values = rows[column].astype(object).where(rows[column].notna(), "<missing>").astype(str).to_numpy()
        for value in sorted(set(values)):
            mask = values == value
            if mask.sum() < settings.min_rows or (task.slices_need_two_classes and len(set(y_true[mask])) < 2):
                continue
            metrics = {"rows": int(mask.sum()), **score(y_true[mask], scores[mask])}
            by_column[column].append({"value": value, **metrics})
            ranked.append((metrics[ranked_by], column, value, metrics))
    lowest = sorted(ranked, key=lambda entry: entry[:3])[: settings.worst]
    worst = [{"slice": f"{column}={value}", **metrics} for _, column, value, metrics in lowest]
    return {"ranked_by": ranked_by, "by_column": by_column, "worst": worst}
