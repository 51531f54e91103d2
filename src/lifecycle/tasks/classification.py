"""What binary and multiclass classification share: their base task (class labels, the
classifier baselines) and class labels as JSON and pandas hold them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle.tasks.base import BaselineFactory, Task

# Featurize output has no missing values (imputed numbers, a -1 code for unseen
# categories), so the linear baseline reads the same matrix the model does; it scales it
# first because ordinal category codes are not standardised. The prior predicts every
# class's train share; LogisticRegression fits a multinomial model for more than two classes.
CLASSIFIER_BASELINES: Mapping[str, BaselineFactory] = {
    "prior": lambda seed: DummyClassifier(strategy="prior"),
    "logistic_regression": lambda seed: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    ),
}


def native(value: object) -> object:
    """A label as the plain Python value JSON holds (numpy scalars unwrapped)."""
    return value.item() if isinstance(value, np.generic) else value


def label_dtype(classes: Sequence[Any]) -> str:
    """The nullable dtype that holds every class label: integers, booleans or text."""
    if all(isinstance(c, bool) for c in classes):
        return "boolean"
    if all(isinstance(c, int) for c in classes):
        return "Int64"
    if all(isinstance(c, str) for c in classes):
        return "string"
    return "object"


def typed_labels(indices: np.ndarray, classes: Sequence[Any], valid: np.ndarray) -> pd.Series:
    """The class of each index, missing where the row was invalid, typed by the classes (Int64,
    boolean, string), so every batch has one dtype even when none of its rows is valid."""
    values = [classes[i] if ok else None for i, ok in zip(indices.tolist(), valid.tolist())]
    return pd.Series(pd.array(values, dtype=label_dtype(classes)))


class ClassificationTask(Task):
    """A task with class labels: probabilities from `predict_proba`, the classifier baselines."""

    classification = True
    estimator_noun = "classifier"
    baselines = CLASSIFIER_BASELINES
