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
    """Per column and value: rows and the task's slice metrics; plus the worst slices.

    Slices with fewer than `min_rows` rows are skipped, and for a task whose slice score
    needs both classes (binary ROC-AUC) those with a single class. `worst` ranks the rest
    by the task's `slice_ranked_by` (a higher-is-better score), lowest first.
    """
    score, ranked_by = task.slice_score(threshold, classes), task.slice_ranked_by
    missing = [c for c in settings.columns if c not in rows.columns]
    if missing:
        raise LifecycleError(f"evaluate.slices.columns: unknown column(s) {missing}")
    by_column: dict[str, dict[str, dict[str, float]]] = {}
    ranked = []
    for column in settings.columns:
        by_column[column] = {}
        values = rows[column].astype(object).where(rows[column].notna(), "<missing>").astype(str).to_numpy()
        for value in sorted(set(values)):
            mask = values == value
            if mask.sum() < settings.min_rows or (task.slices_need_two_classes and len(set(y_true[mask])) < 2):
                continue
            by_column[column][value] = {"rows": int(mask.sum()), **score(y_true[mask], scores[mask])}
            ranked.append((by_column[column][value][ranked_by], column, value))
    worst = {
        str(rank): {"slice": f"{column}={value}", **by_column[column][value]}
        for rank, (_, column, value) in enumerate(sorted(ranked)[: settings.worst], start=1)
    }
    return {"ranked_by": ranked_by, "by_column": by_column, "worst": worst}
