"""Sentinel values that mean "missing" (`preprocess.na_values`: "unknown", "?", -999...).

Sources often write a placeholder instead of leaving a cell empty. Unread, a placeholder
turns a numeric column into text (`mixed_types`), or becomes a category or a number the
model learns from. `na_values` has pandas' meaning (`read_csv(na_values=...)`): a list for
every column or a mapping per column. Preprocess reads them as missing before anything is
validated; the bundle's schema carries them, so a request or a batch file holding one
means missing too (one inference pipeline).
"""

from __future__ import annotations

import numbers

import pandas as pd

Sentinel = str | int | float
NaValues = list[Sentinel] | dict[str, list[Sentinel]]


def sentinels_for(na_values: NaValues, column: str) -> list[Sentinel]:
    """The sentinels of one column."""
    return list(na_values.get(column, [])) if isinstance(na_values, dict) else list(na_values)


def _as_number(value: Sentinel) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def is_sentinel(value: object, sentinels: list[Sentinel]) -> bool:
    """A text equal to a sentinel (spaces around it ignored), or a number equal to one."""
    if isinstance(value, str):
        return value.strip() in {str(s) for s in sentinels}
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return float(value) in {n for s in sentinels if (n := _as_number(s)) is not None}
    return False


def sentinel_mask(series: pd.Series, sentinels: list[Sentinel]) -> pd.Series:
    """Which cells of `series` hold a sentinel."""
    if not sentinels:
        return pd.Series(False, index=series.index)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        numbers_ = [n for s in sentinels if (n := _as_number(s)) is not None]
        return series.isin(numbers_).fillna(False).astype(bool)
    return series.map(lambda value: is_sentinel(value, sentinels)).astype(bool)


def _numbers_if_all_numeric(series: pd.Series) -> pd.Series:
    """Text that is all numbers once the sentinels are gone becomes numbers, as `read_csv`
    with `na_values` would have read it."""
    if pd.api.types.is_numeric_dtype(series) or series.dropna().empty:
        return series
    converted = pd.to_numeric(series, errors="coerce")
    return converted if converted.notna().sum() == series.notna().sum() else series


def mark_missing(frame: pd.DataFrame, na_values: NaValues) -> tuple[pd.DataFrame, dict[str, int]]:
    """`frame` with every sentinel cell missing, and how many cells each column lost."""
    result = frame.copy(deep=False)  # copy-on-write: assigning a column leaves `frame` as it was
    counts = {}
    for column in frame.columns:
        mask = sentinel_mask(frame[column], sentinels_for(na_values, str(column)))
        if mask.any():
            counts[str(column)] = int(mask.sum())
            result[column] = _numbers_if_all_numeric(frame[column].mask(mask))
    return result, counts
