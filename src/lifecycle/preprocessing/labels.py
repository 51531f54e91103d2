"""The target: read from a column, encoded for its task, rows without one excluded and counted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lifecycle.config import TargetSettings
from lifecycle.errors import LifecycleError


def raw_label(frame: pd.DataFrame, target: TargetSettings) -> pd.Series | None:
    """The label before any row is dropped (missing where the source is), or None if absent.

    With a threshold the label is `column > threshold` as 0/1 (a delay above 15 minutes).
    """
    if target.column not in frame.columns:
        return None
    source = frame[target.column]
    if target.threshold is None:
        return source
    if not pd.api.types.is_numeric_dtype(source):
        raise LifecycleError(
            f"target column {target.column!r} has dtype {source.dtype}; a threshold needs numbers"
        )
    return (source > target.threshold).astype("Int64").where(source.notna())


@dataclass(frozen=True)
class Target:
    """The label as learned: its task and, for classification, its classes in model order.

    Binary labels are encoded 0/1 with `classes = [negative, positive]` (original values),
    so every binary metric and threshold reads "probability of class 1".
    """

    task: str
    classes: list[object] | None


def encode_label(label: pd.Series, task: str, positive: object = None) -> tuple[pd.Series, Target]:
    """The learnable label (no missing values left) and its description; `positive` is
    required for a binary task."""
    if task == "regression":
        return label.astype("float64"), Target(task, None)
    values = label.dropna()
    if task == "binary":
        negative = next(v for v in values.unique() if v != positive)
        encoded = (label == positive).astype("int64")
        return encoded, Target(task, [native(negative), native(positive)])
    # Sorted by value, as scikit-learn orders `classes_` (so 2 comes before 10).
    return label, Target(task, sorted(native(v) for v in values.unique()))


def native(value: object) -> object:
    """A label as the plain Python value JSON holds (numpy scalars unwrapped)."""
    return value.item() if isinstance(value, np.generic) else value


def derive_target(frame: pd.DataFrame, label: pd.Series, name: str) -> tuple[pd.DataFrame, int]:
    """Add the encoded label as column `name`; drop rows whose label is missing, and count them."""
    missing = label.isna()
    if missing.all():
        raise LifecycleError(f"target {name!r} has no values")
    kept = frame.loc[~missing.to_numpy()].reset_index(drop=True)
    kept[name] = label.loc[~missing].to_numpy()
    return kept, int(missing.sum())
