"""Permutation importance of each raw input column, through the whole inference pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance

from lifecycle.metrics.rounding import rounded


def raw_column_importance(
    pipeline: BaseEstimator, X: pd.DataFrame, y: np.ndarray, repeats: int, seed: int, scoring: str = "roc_auc"
) -> list[dict[str, float | str]]:
    """Drop in the test `scoring` (ROC-AUC, one-vs-rest ROC-AUC or R² by task) when one raw
    input column is shuffled, largest first.

    It permutes the caller-facing columns through the whole inference pipeline, so it
    ranks what the model really uses, for any model family.
    """
    result = permutation_importance(pipeline, X, y, scoring=scoring, n_repeats=repeats, random_state=seed, n_jobs=1)
    frame = pd.DataFrame(
        {"feature": X.columns, "importance": result.importances_mean, "std": result.importances_std}
    ).sort_values(["importance", "feature"], ascending=[False, True])
    return [
        {"feature": str(row.feature), "importance": rounded(row.importance), "std": rounded(row.std)}
        for row in frame.itertuples()
    ]
