"""Baselines: is the model better than predicting the prior, or than a plain linear model?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle.evaluation import probability_metrics

# Featurize output has no missing values (imputed numbers, a -1 code for unseen
# categories), so the linear baseline reads the same matrix the model does; it scales
# it first because ordinal category codes are not standardised.
BASELINES = {
    "prior": lambda seed: DummyClassifier(strategy="prior"),
    "logistic_regression": lambda seed: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    ),
}


def baseline_metrics(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, y_test: np.ndarray, seed: int
) -> dict[str, dict[str, float]]:
    """Threshold-free test metrics of each baseline fitted on the same train features."""
    return {
        name: probability_metrics(y_test, make(seed).fit(X_train, y_train).predict_proba(X_test)[:, 1])
        for name, make in BASELINES.items()
    }


def lift(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Model minus baseline for every shared metric (positive = better only for scores;
    for losses such as log_loss and brier a negative lift is the improvement)."""
    return {
        name: {metric: round(model[metric] - value, 6) for metric, value in scores.items()}
        for name, scores in baselines.items()
    }
