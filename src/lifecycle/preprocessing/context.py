"""Context features: what is known about a row's surroundings at prediction time.

They are computed in preprocess, before the split, because they are not fitted: each
row's value depends only on rows observed strictly before it (`past_mean`) or on the
published schedule (`count`). The caller of the packaged model supplies them as
ordinary input columns, the way it supplies the weather at the departure hour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecycle.config import ContextCount, ContextPastMean, ContextSettings, Timestamp
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.tables import require_columns


def timestamp(frame: pd.DataFrame, spec: Timestamp) -> pd.Series:
    """`spec.column` plus the minutes held in each of `spec.plus_minutes` (NaN -> NaT)."""
    require_columns(frame, [spec.column, *spec.plus_minutes], "context timestamp")
    base = frame[spec.column]
    if not pd.api.types.is_datetime64_any_dtype(base):
        raise LifecycleError(
            f"context timestamp column {spec.column!r} has dtype {base.dtype}, expected a "
            "datetime; declare it in preprocess.dtypes"
        )
    minutes = sum((frame[column].astype("float64") for column in spec.plus_minutes), 0.0)
    return base + pd.to_timedelta(minutes, unit="min")


def group_count(frame: pd.DataFrame, spec: ContextCount) -> pd.Series:
    """How many rows share each row's group."""
    require_columns(frame, spec.group_by, f"context {spec.name!r}")
    return frame.groupby(spec.group_by, dropna=False)[spec.group_by[0]].transform("size").astype("int64")


def past_mean(frame: pd.DataFrame, spec: ContextPastMean) -> pd.Series:
    """Mean of `value` over the group's events seen in [t - lead - window, t - lead).

    Events are the group's rows with a known value, stamped at `event_time` (when the
    value became observable, e.g. the actual departure). Sorting and cumulative sums
    make it O(n log n); rows with no such event get NaN.
    """
    require_columns(frame, [*spec.group_by, spec.value], f"context {spec.name!r}")
    event_time = timestamp(frame, spec.event_time).to_numpy("datetime64[ns]")
    row_time = timestamp(frame, spec.row_time).to_numpy("datetime64[ns]")
    values = pd.to_numeric(frame[spec.value], errors="coerce").to_numpy("float64", na_value=np.nan)
    lead = np.timedelta64(spec.lead_minutes, "m")
    window = np.timedelta64(spec.window_minutes, "m")
    result = np.full(len(frame), np.nan)
    for positions in frame.groupby(spec.group_by, dropna=False).indices.values():
        known = ~np.isnan(values[positions]) & ~np.isnat(event_time[positions])
        order = np.argsort(event_time[positions][known], kind="stable")
        times = event_time[positions][known][order]
        sums = np.concatenate([[0.0], np.cumsum(values[positions][known][order])])
        until = row_time[positions] - lead
        high = np.searchsorted(times, until, side="left")
        low = np.searchsorted(times, until - window, side="left")
        count = high - low
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (sums[high] - sums[low]) / count
        result[positions] = np.where((count > 0) & ~np.isnat(until), mean, np.nan)
    return pd.Series(result, index=frame.index, name=spec.name)


def require_new_column(frame: pd.DataFrame, spec: ContextSettings) -> None:
    """Refuse a context feature named like a column the table already has."""
    if spec.name in frame.columns:
        raise LifecycleError(f"context feature {spec.name!r} would overwrite an existing column")


def add_context(frame: pd.DataFrame, specs: list[ContextSettings]) -> pd.DataFrame:
    """Append one column per context spec."""
    result = frame.copy(deep=False)  # copy-on-write: assigning a column leaves `frame` as it was
    for spec in specs:
        require_new_column(result, spec)
        compute = group_count if isinstance(spec, ContextCount) else past_mean
        result[spec.name] = compute(result, spec)
    return result
