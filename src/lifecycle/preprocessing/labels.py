"""The target: read from a column, rows without one excluded and counted.

How a label is encoded for learning is the task's (`lifecycle.tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lifecycle.config import TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.tables import Columns


def raw_label(frame: Columns, target: TargetSettings) -> pd.Series | None:
    """The label before any row is dropped (missing where the source is), or None if absent.

    With a threshold the label is `column > threshold` as 0/1 (a delay above 15 minutes).
    """
    if target.column not in frame.columns:
        return None
    source = frame[target.column]
    if target.threshold is None:
        return source
    if not pd.api.types.is_numeric_dtype(source):
        raise LifecycleError(f"target column {target.column!r} has dtype {source.dtype}; a threshold needs numbers")
    return (source > target.threshold).astype("Int64").where(source.notna())


@dataclass(frozen=True)
class Target:
    """The label as learned: its task's name and, for classification, its classes in model order."""

    task: str
    classes: list[object] | None


def derive_target(frame: pd.DataFrame, label: pd.Series, name: str) -> tuple[pd.DataFrame, int]:
    """Add the encoded label as column `name`; drop rows whose label is missing, and count them."""
    missing = label.isna()
    if missing.all():
        raise LifecycleError(f"target {name!r} has no values")
    kept = frame.loc[~missing.to_numpy()].reset_index(drop=True)
    kept[name] = label.loc[~missing].to_numpy()
    return kept, int(missing.sum())
