"""Metrics per category value, and the worst slices, to show where the model fails."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

from lifecycle.metrics import binary as evaluation
from lifecycle.config import SliceSettings
from lifecycle.errors import LifecycleError
from lifecycle.tasks import score_metrics

SliceScore = Callable[[np.ndarray, np.ndarray], dict[str, float]]
# What a multiclass or regression slice reports, the first ranking the worst slices.
SLICE_METRICS = {"multiclass": ("accuracy", "f1_macro"), "regression": ("r2", "rmse", "mae")}


def slice_metrics(
    rows: pd.DataFrame,
    y_true: np.ndarray,
    scores: np.ndarray,
    settings: SliceSettings,
    score: SliceScore,
    ranked_by: str,
    needs_two_classes: bool = True,
) -> dict[str, object]:
    """Per column and value: rows and `score`'s metrics; plus the worst slices.

    Slices with fewer than `min_rows` rows are skipped, and for classification those
    with a single class (their scores would be noise or undefined). `worst` ranks the
    rest by `ranked_by` (a higher-is-better score), lowest first.
    """
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
            if mask.sum() < settings.min_rows or (needs_two_classes and len(set(y_true[mask])) < 2):
                continue
            by_column[column][value] = {"rows": int(mask.sum()), **score(y_true[mask], scores[mask])}
            ranked.append((by_column[column][value][ranked_by], column, value))
    worst = {
        str(rank): {"slice": f"{column}={value}", **by_column[column][value]}
        for rank, (_, column, value) in enumerate(sorted(ranked)[: settings.worst], start=1)
    }
    return {"ranked_by": ranked_by, "by_column": by_column, "worst": worst}


def slice_score(task: str, threshold: float | None, classes: Sequence[object] | None) -> tuple[SliceScore, str]:
    """What each evaluation slice reports for the task, and the score that ranks the worst.

    Binary slices keep the positive rate, ROC-AUC and F1 at the decision threshold;
    multiclass slices accuracy and macro F1 (one-vs-rest AUC is undefined for a slice
    missing a class); regression slices R², RMSE and MAE.
    """
    if task == "binary":
        assert threshold is not None

        def binary(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
            predicted = (probability >= threshold).astype(int)
            return {
                "positive_rate": evaluation.rounded(y.mean()),
                "roc_auc": evaluation.rounded(roc_auc_score(y, probability)),
                "f1": evaluation.rounded(f1_score(y, predicted, zero_division=0)),
            }

        return binary, "roc_auc"
    keys = SLICE_METRICS[task]

    def headline(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        computed = score_metrics(task, y, scores, classes)
        return {k: computed[k] for k in keys}

    return headline, keys[0]
