"""Small samples of the real data and small models on them: what the unit tests share.

The session fixtures in conftest.py build these from a few thousand real flights; the
hyper-parameters here are small enough to fit them in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from lifecycle.config import TrainSettings

SAMPLE_FLIGHTS = 6000
Interim = tuple[pd.DataFrame, pd.DataFrame, dict]  # the `interim` fixture: (train, test, report)

# Hyper-parameters small enough to fit a few thousand rows quickly. Every parameter that
# decides whether such a sample can be learnt at all is set here, so tuning params.yaml for
# the full data (e.g. a large min_samples_leaf) cannot break the tests.
SMALL: dict[str, dict[str, object]] = {
    "logistic_regression": {"C": 1.0, "max_iter": 200, "class_weight": None},
    "decision_tree": {"max_depth": 4, "min_samples_leaf": 20, "class_weight": None},
    "random_forest": {
        "n_estimators": 20,
        "max_depth": 6,
        "min_samples_leaf": 5,
        "max_samples": None,
        "class_weight": None,
        "n_jobs": 1,
    },
    "hist_gradient_boosting": {
        "learning_rate": 0.1,
        "max_iter": 40,
        "max_leaf_nodes": 15,
        "max_depth": None,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 5,
        "class_weight": None,
    },
    "mlp": {
        "hidden_layer_sizes": [16],
        "alpha": 1e-4,
        "batch_size": 64,
        "max_iter": 40,
        "early_stopping": False,  # validation accuracy plateaus at the majority class
        "validation_fraction": 0.1,
        "n_iter_no_change": 10,
        "learning_rate_init": 0.003,
    },
}


def small(settings: TrainSettings, model: str, seed: int | None = None, **hyper: object) -> TrainSettings:
    """`settings` switched to `model`: that family's hyper-parameters set to SMALL[model], then
    to `hyper` (the others, e.g. max_bins, stay params.yaml's); `seed` sets the seed if given."""
    family = getattr(settings, model).model_copy(update={**SMALL[model], **hyper})
    update: dict[str, object] = {"model": model, model: family}
    if seed is not None:
        update["seed"] = seed
    return settings.model_copy(update=update)


@dataclass(frozen=True)
class Featurized:
    """The featurizer fitted on the interim train rows; the train and test rows (each in time
    order) featurized by it."""

    featurizer: Pipeline
    columns: list[str]
    X: pd.DataFrame
    y: pd.Series
    X_test: pd.DataFrame
    y_test: np.ndarray
    categorical: list[str]


@dataclass(frozen=True)
class Scored:
    """A small gradient-boosting model fitted on the featurized train rows, and its test scores."""

    pipeline: Pipeline  # the featurizer and the model, as package bundles them
    rows: pd.DataFrame  # the interim test rows
    y: np.ndarray  # their labels
    probability: np.ndarray  # the model's probability of the positive class for each
