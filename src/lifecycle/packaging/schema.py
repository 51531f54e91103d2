"""The input schema of the packaged model: inferred from the train split, enforced per row.

A caller sends the raw columns (as the interim tables hold them). `validate_rows`
checks every row against the schema and returns the rows coerced to the training
types plus one error message per bad row, so a batch with a few bad rows still gets
predictions for the good ones.

A numeric value can be impossible or merely new (`NumericRule`): outside the column's
declared domain (`validation.columns.<col>.min` / `max`) or a fraction in a column whose
training values are all whole numbers, it is refused; beyond the training range but inside
the domain, it is scored and flagged. The training range cannot be the rule: with a time
split, the test months lie beyond the training months by design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from lifecycle.artifacts import ColumnRole
from lifecycle.config import ColumnExpectation
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.missing import NaValues, sentinel_mask, sentinels_for
from lifecycle.validation.display import show

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


def _whole_numbers(series: pd.Series) -> bool:
    """Every finite training value is a whole number (and there is at least one)."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool((values == np.round(values)).all())


def _domain(expectation: ColumnExpectation | None) -> dict[str, float | None] | None:
    if expectation is None or (expectation.min is None and expectation.max is None):
        return None
    return {"min": expectation.min, "max": expectation.max}


@dataclass(frozen=True)
class NumericRule:
    """What one numeric schema column accepts, and what training saw.

    Refused (an impossible value): outside the declared domain, or not a whole number where
    every training value was one. Flagged (a value the model never saw, scored anyway):
    beyond the training range. Bundles packaged before domains were recorded refuse nothing.
    """

    name: str
    low: float | None  # the declared domain
    high: float | None
    integer: bool
    seen_low: float | None  # the training range
    seen_high: float | None

    @classmethod
    def of(cls, column: dict[str, Any]) -> NumericRule:
        domain = column.get("domain") or {}
        return cls(
            name=column["name"],
            low=domain.get("min"),
            high=domain.get("max"),
            integer=column.get("integer", False),
            seen_low=column.get("min"),
            seen_high=column.get("max"),
        )

    def expected(self) -> str:
        """The allowed values in words, e.g. `a whole number from 1 to 12`."""
        noun = "a whole number" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {show(self.low)} to {show(self.high)}"
        if self.low is not None:
            return f"{noun} of at least {show(self.low)}"
        if self.high is not None:
            return f"{noun} of at most {show(self.high)}"
        return noun

    def refusal(self, value: float) -> str | None:
        """Why `value` is impossible here (outside the domain, or a fraction), else None."""
        outside = (self.low is not None and value < self.low) or (self.high is not None and value > self.high)
        fraction = self.integer and not float(value).is_integer()
        if not (outside or fraction):
            return None
        why = "" if outside else " (every training value was one)"
        return f"expected {self.expected()}{why}, got {show(value)}"

    def refused(self, values: pd.Series) -> pd.Series:
        """`refusal` over a float column at once: True where a value is impossible (nulls pass)."""
        bad = pd.Series(False, index=values.index)
        if self.low is not None:
            bad |= values < self.low
        if self.high is not None:
            bad |= values > self.high
        if self.integer:
            bad |= values.notna() & (values != values.round())
        return bad

    def beyond_training(self, value: float) -> bool:
        """The model never saw a value this low or high (scored, and flagged)."""
        return (self.seen_low is not None and value < self.seen_low) or (
            self.seen_high is not None and value > self.seen_high
        )


def infer_schema(
    train: pd.DataFrame,
    columns: list[str],
    roles: dict[str, ColumnRole] | None = None,
    expectations: Mapping[str, ColumnExpectation] | None = None,
    na_values: NaValues | None = None,
) -> dict[str, Any]:
    """Columns, kinds, training dtypes, nullability, categories and numeric ranges, and the
    role preprocess inferred (or params declared) for each column, with its reason.

    A numeric column also records whether training held only whole numbers (`integer`) and
    its `domain` where `expectations` (params' `validation.columns`) declare one, so the
    bundle alone knows which values are impossible (see `NumericRule`). A column's
    sentinels (`preprocess.na_values`) are recorded as `na_values`: they mean missing in a
    request too.
    """
    expectations = expectations or {}
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
        if sentinels := sentinels_for(na_values or [], name):
            entry["na_values"] = sentinels
        if roles is not None:
            entry["role"] = roles[name].role
            entry["reason"] = roles[name].reason
        if kind == "numeric":
            entry["min"] = _finite(series.min())
            entry["max"] = _finite(series.max())
            entry["integer"] = _whole_numbers(series)
            if (domain := _domain(expectations.get(name))) is not None:
                entry["domain"] = domain
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
    type, NaN or infinity, a number outside the column's domain or a fraction where training
    had only whole numbers (`NumericRule`), a null where training had none, or (with the
    `reject` policy) a category never seen in training. A column's sentinels (`na_values`)
    are missing values, as in training. Extra columns are ignored.
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
        raw = raw.mask(sentinel_mask(raw, column.get("na_values", [])))
        if kind == "numeric":
            values, bad = _numeric(raw)
            expected = "a finite number"
            rule = NumericRule.of(column)
            for position in np.flatnonzero(rule.refused(values).to_numpy()):
                problems[position].append(f"{name}: {rule.refusal(values.iloc[position])}")
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
                    problems[position].append(f"{name}: unknown category {show(values.iloc[position])}")
        for position in np.flatnonzero(bad.to_numpy()):
            problems[position].append(f"{name}: expected {expected}, got {show(raw.iloc[position])}")
        if not column["nullable"]:
            for position in np.flatnonzero((values.isna() & ~bad).to_numpy()):
                problems[position].append(f"{name}: missing value (never missing in training)")
        coerced[name] = values
    errors = ["; ".join(p) if p else None for p in problems]
    return pd.DataFrame(coerced), errors
