"""The source interface: one reader per settings class, plus the rows known so far."""

from __future__ import annotations

from functools import singledispatch

import numpy as np
import pandas as pd

from lifecycle.config import KnownBefore
from lifecycle.errors import LifecycleError
from lifecycle.moments import moment_in


@singledispatch
def read_source(settings: object) -> pd.DataFrame:
    """Read the whole table described by `settings` (sampling is applied by the caller)."""
    raise LifecycleError(f"no reader is registered for source settings {type(settings).__name__}")


def known_rows(frame: pd.DataFrame, known: KnownBefore | None, name: str) -> pd.DataFrame:
    """The rows whose `known.column` is before `known.date`, in their original order.

    The column is read as preprocess reads a datetime (UTC), so these rows and the time
    split agree on every boundary. A row without a time cannot be placed before anything, so
    it is not known either; a column that is not a time, or a date before every row, stops
    collect with the source's name.
    """
    if known is None:
        return frame
    require_known_column(frame.columns, known, name)
    return frame.loc[known_mask(frame[known.column], known, name)].reset_index(drop=True)


def _known_where(known: KnownBefore, name: str) -> str:
    return f"source {name!r}: known_before.column {known.column!r}"


def require_known_column(columns: pd.Index, known: KnownBefore, name: str) -> None:
    """Refuse a known_before column the source does not have, listing the ones it has."""
    if known.column not in columns:
        listed = ", ".join(map(str, columns))
        raise LifecycleError(f"{_known_where(known, name)} is not a column (columns: {listed})")


def known_mask(values: pd.Series, known: KnownBefore, name: str) -> np.ndarray:
    """Which `values` of the known_before column are before `known.date`; refuses values
    that are not times, and a date before every row."""
    times = pd.to_datetime(values, errors="coerce", utc=True)
    unread = times.isna() & values.notna()
    if unread.any():
        raise LifecycleError(
            f"{_known_where(known, name)}: {int(unread.sum())} value(s) are not dates or date-times, "
            f"e.g. {values[unread].iloc[0]!r}"
        )
    known_now = (times < moment_in(times, known.date)).to_numpy()
    if not known_now.any():
        raise LifecycleError(f"{_known_where(known, name)}: no row is before {known.date} (the first is {times.min()})")
    return known_now


def require_rows(frame: pd.DataFrame, name: str, settings: object = None) -> pd.DataFrame:
    """Refuse an empty table or one without columns, naming the source and where it is read."""
    require_shape(*frame.shape, name, settings)
    return frame


def require_shape(rows: int, columns: int, name: str, settings: object = None) -> None:
    """`require_rows` for a table known by its shape alone (a Parquet file's footer)."""
    where = f"source {name!r}{_location(settings)}"
    if columns == 0:
        raise LifecycleError(f"{where} has no columns")
    if rows == 0:
        raise LifecycleError(f"{where} has no rows (a header alone, an empty table or query result)")


def _location(settings: object) -> str:
    """` (path)`, ` (url)` or ` (table)` of a source's settings, for messages."""
    for key in ("path", "table", "url"):
        if value := getattr(settings, key, None):
            return f" ({value})"
    return ""


def frame_from_records(records: list[object], where: str) -> pd.DataFrame:
    """One row per JSON object, columns in order of first appearance; refuses non-objects."""
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise LifecycleError(f"{where}: record {position} is {type(record).__name__}, not a JSON object")
    return pd.DataFrame.from_records(records)
