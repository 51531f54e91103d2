"""The target: derived from a column, rows without one excluded and counted."""

from __future__ import annotations

import pandas as pd

from lifecycle.config import TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.tables import require_columns


def derive_target(frame: pd.DataFrame, target: TargetSettings) -> tuple[pd.DataFrame, int]:
    """Add the target column; drop rows whose source value is missing and count them.

    With a threshold the target is the boolean `column > threshold` stored as 0/1 (a
    delay above 15 minutes). The raw column stays in the frame unless the label takes its name; featurize
    excludes it either way.
    """
    require_columns(frame, [target.column], "preprocess.target")
    source = frame[target.column]
    if target.threshold is not None and not pd.api.types.is_numeric_dtype(source):
        raise LifecycleError(
            f"target column {target.column!r} has dtype {source.dtype}; a threshold needs numbers"
        )
    missing = source.isna()
    if missing.all():
        raise LifecycleError(f"target column {target.column!r} has no values")
    kept = frame.loc[~missing].reset_index(drop=True)
    if target.threshold is not None:
        label = (kept[target.column] > target.threshold).astype("int64")
    else:
        label = kept[target.column]
    if label.nunique() < 2:
        raise LifecycleError(f"target {target.name!r} has a single value: nothing to learn")
    kept[target.name] = label
    return kept, int(missing.sum())
