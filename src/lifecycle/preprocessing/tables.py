"""Pure table operations of preprocess: required columns, dedupe, join, coerce."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import pandas as pd

from lifecycle.config import JoinSettings
from lifecycle.errors import LifecycleError


class Columns(Protocol):
    """A table as role inference and validation read it: a DataFrame, or `PartColumns`."""

    @property
    def columns(self) -> pd.Index: ...

    def __len__(self) -> int: ...

    def __getitem__(self, column: str) -> pd.Series: ...


def require_columns(frame: Columns, columns: Iterable[str], where: str) -> None:
    """Raise one error naming every missing column and the columns that do exist."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise LifecycleError(f"{where}: missing column(s) {missing}; available: {sorted(map(str, frame.columns))}")


def drop_exact_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Remove rows identical in every column; return the rest and how many were removed."""
    duplicated = frame.duplicated()
    return frame.loc[~duplicated].reset_index(drop=True), int(duplicated.sum())


def join_table(left: pd.DataFrame, right: pd.DataFrame, join: JoinSettings) -> tuple[pd.DataFrame, dict[str, int]]:
    """Join `right` onto `left` by the declared keys without ever duplicating a left row.

    With `join.unique`, rows of `right` repeating a key are dropped (first kept) before
    the join, so a left row matches at most once. Columns of `right` that clash with
    `left` get the suffix `_<source>`. Returns the joined frame and counts for the report.
    """
    require_columns(left, join.keys, f"join of {join.source!r} (left side)")
    require_columns(right, join.keys, f"join of {join.source!r}")
    require_columns(right, join.drop, f"join of {join.source!r} (drop)")
    right = right.drop(columns=join.drop)
    counts = {"right_duplicate_keys": 0}
    if join.unique:
        repeated = right.duplicated(subset=join.keys)
        counts["right_duplicate_keys"] = int(repeated.sum())
        right = right.loc[~repeated]
    try:
        joined = left.merge(
            right,
            on=join.keys,
            how=join.how,
            suffixes=("", f"_{join.source}"),
            indicator="_match",
        )
    except ValueError as error:
        raise LifecycleError(
            f"join of {join.source!r} on {join.keys}: the key columns have incompatible types "
            f"({error}); declare them in preprocess.dtypes"
        ) from None
    counts["unmatched_left_rows"] = int((joined["_match"] == "left_only").sum())
    counts["dropped_by_inner_join"] = len(left) - len(joined) if join.how == "inner" else 0
    return joined.drop(columns="_match"), counts


def coerce_dtypes(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Cast the declared columns, naming the column and a bad value when a cast fails."""
    require_columns(frame, dtypes, "preprocess.dtypes")
    result = frame.copy(deep=False)  # copy-on-write: assigning a column leaves `frame` as it was
    for column, kind in dtypes.items():
        series = result[column]
        if kind == "datetime":
            converted = pd.to_datetime(series, errors="coerce", utc=True)
        elif kind in ("float", "int"):
            converted = pd.to_numeric(series, errors="coerce")
        elif kind == "bool":
            converted = series.map(_to_bool).astype("boolean")
        elif kind == "category":
            converted = series.astype("category")
        else:
            converted = series.astype("string")
        failed = converted.isna() & series.notna()
        if failed.any():
            example = series[failed].iloc[0]
            raise LifecycleError(
                f"column {column!r}: {int(failed.sum())} value(s) cannot be read as {kind}, e.g. {example!r}"
            )
        if kind == "int":
            fractional = converted.notna() & (converted != converted.round())
            if fractional.any():
                raise LifecycleError(
                    f"column {column!r}: {int(fractional.sum())} value(s) are not whole numbers, "
                    f"e.g. {series[fractional].iloc[0]!r}; declare it as float"
                )
            converted = converted.astype("Int64")
        result[column] = converted
    return result


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _to_bool(value: object) -> object:
    if pd.isna(value):
        return pd.NA
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return pd.NA
