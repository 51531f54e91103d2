"""The input schema of the packaged model: inferred from the train split, enforced per row.

A caller sends the raw columns (as the interim tables hold them). `validate_rows`
checks every row against the schema and returns the rows coerced to the training
types plus one error message per bad row, so a batch with a few bad rows still gets
predictions for the good ones.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from lifecycle.artifacts import ColumnRole
from lifecycle.errors import LifecycleError

Kind = Literal["numeric", "categorical", "datetime", "boolean"]


def column_kind(series: pd.Series) -> Kind:
    """How the schema treats a column, from its training dtype."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def infer_schema(train: pd.DataFrame, columns: list[str], roles: dict[str, ColumnRole] | None = None) -> dict[str, Any]:
    """Columns, kinds, training dtypes, nullability, categories and numeric ranges, and the
    role preprocess inferred (or params declared) for each column, with its reason."""
    described = []
    for name in columns:
        series = train[name]
        kind = column_kind(series)
        entry: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "dtype": str(series.dtype),
            "nullable": bool(series.isna().any()),
        }
        if roles is not None:
            entry["role"] = roles[name].role
            entry["reason"] = roles[name].reason
        if kind == "numeric":
            entry["min"] = _finite(series.min())
            entry["max"] = _finite(series.max())
        elif kind == "categorical":
            entry["categories"] = sorted(str(v) for v in series.dropna().unique())
        elif kind == "datetime":
            entry["min"] = series.min().isoformat() if series.notna().any() else None
            entry["max"] = series.max().isoformat() if series.notna().any() else None
        described.append(entry)
    return {"columns": described}


def _numeric(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = pd.to_numeric(raw.astype(object).where(raw.notna(), None), errors="coerce").astype("float64")
    bad = (values.isna() & raw.notna()) | np.isinf(values.fillna(0.0))
    return values.where(~np.isinf(values.fillna(0.0))), bad


def _datetime(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = (
        pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
        if not pd.api.types.is_datetime64_any_dtype(raw)
        else raw
    )
    if pd.api.types.is_datetime64_any_dtype(values) and values.dt.tz is None:
        values = values.dt.tz_localize("UTC")
    return values, values.isna() & raw.notna()


def _boolean(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    mapping = {"true": True, "false": False, "1": True, "0": False}
    values = raw.map(lambda v: v if isinstance(v, bool) or pd.isna(v) else mapping.get(str(v).strip().lower()))
    return values.astype("boolean"), values.isna() & raw.notna()


def validate_rows(
    frame: pd.DataFrame, schema: dict[str, Any], unknown_category: str = "reject"
) -> tuple[pd.DataFrame, list[str | None]]:
    """Coerce `frame`'s schema columns to their training types; one error text per row.

    A missing column fails the whole batch (LifecycleError). Per row: a value of the wrong
    type, NaN or infinity, a null where training had none, or (with the `reject` policy)
    a category never seen in training. Extra columns are ignored.
    """
    names = [c["name"] for c in schema["columns"]]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise LifecycleError(f"input is missing column(s) {missing}; the model needs {names}")
    problems: list[list[str]] = [[] for _ in range(len(frame))]
    coerced = {}
    for column in schema["columns"]:
        name, kind = column["name"], column["kind"]
        raw = frame[name].reset_index(drop=True)
        if kind == "numeric":
            values, bad = _numeric(raw)
            expected = "a finite number"
        elif kind == "datetime":
            values, bad = _datetime(raw)
            expected = "a date-time"
        elif kind == "boolean":
            values, bad = _boolean(raw)
            expected = "true or false"
        else:
            values = raw.astype(object).where(raw.notna(), None).map(lambda v: v if v is None else str(v))
            bad = pd.Series(False, index=raw.index)
            expected = "text"
            if unknown_category == "reject":
                allowed = set(column["categories"])
                unknown = values.notna() & ~values.isin(allowed)
                for position in np.flatnonzero(unknown.to_numpy()):
                    problems[position].append(f"{name}: unknown category {values.iloc[position]!r}")
        for position in np.flatnonzero(bad.to_numpy()):
            problems[position].append(f"{name}: expected {expected}, got {raw.iloc[position]!r}")
        if not column["nullable"]:
            for position in np.flatnonzero((values.isna() & ~bad).to_numpy()):
                problems[position].append(f"{name}: missing value (never missing in training)")
        coerced[name] = values
    errors = ["; ".join(p) if p else None for p in problems]
    return pd.DataFrame(coerced), errors
