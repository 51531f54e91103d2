"""Metrics per category value, and the worst slices, to show where the model fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

from lifecycle.config import SliceSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import rounded


def slice_metrics(
    rows: pd.DataFrame, y_true: np.ndarray, probability: np.ndarray, threshold: float, settings: SliceSettings
) -> dict[str, object]:
    """Per column and value: rows, positive rate, ROC-AUC and F1; plus the worst slices.

    Slices with fewer than `min_rows` rows or a single class are skipped (their scores
    would be noise or undefined). `worst` ranks the rest by ROC-AUC, lowest first.
    """
    missing = [c for c in settings.columns if c not in rows.columns]
    if missing:
        raise LifecycleError(f"evaluate.slices.columns: unknown column(s) {missing}")
    predicted = (probability >= threshold).astype(int)
    by_column: dict[str, dict[str, dict[str, float]]] = {}
    ranked = []
    for column in settings.columns:
        by_column[column] = {}
        values = rows[column].astype(object).where(rows[column].notna(), "<missing>").astype(str).to_numpy()
        for value in sorted(set(values)):
            mask = values == value
            if mask.sum() < settings.min_rows or len(set(y_true[mask])) < 2:
                continue
            scores = {
                "rows": int(mask.sum()),
                "positive_rate": rounded(y_true[mask].mean()),
                "roc_auc": rounded(roc_auc_score(y_true[mask], probability[mask])),
                "f1": rounded(f1_score(y_true[mask], predicted[mask], zero_division=0)),
            }
            by_column[column][value] = scores
            ranked.append((scores["roc_auc"], column, value))
    worst = {
        str(rank): {"slice": f"{column}={value}", **by_column[column][value]}
        for rank, (_, column, value) in enumerate(sorted(ranked)[: settings.worst], start=1)
    }
    return {"by_column": by_column, "worst": worst}
