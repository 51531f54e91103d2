"""What each column is for: the task the target makes, and every other column's role.

A user bringing their own table sets only the target; everything else is inferred here
and written to the validation report and the packaged schema, so a reviewer can see (and
`preprocess.roles` can override) every decision. Roles are a schema, not fitted
statistics: they are read from the column types and distinct counts and never from the
target, so inferring them on the whole table leaks nothing.
"""

from __future__ import annotations

import logging

import pandas as pd

from lifecycle.config import RoleInferenceSettings, TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.part_columns import PartColumns
from lifecycle.preprocessing.tables import Columns, coerce_dtypes
from lifecycle.tasks.binary import BINARY
from lifecycle.tasks.registry import infer_task_name, task_named

logger = logging.getLogger(__name__)

# Roles that make model inputs; the others (identifier, text, constant, drop) are dropped.
FEATURE_ROLES = ("numeric", "categorical", "boolean", "datetime")
DECLARED = "set in preprocess.roles"
# Dates as CSV, JSON and APIs write them; only year-first forms are read as dates without
# being declared (is 03/04 March or April?): ISO 8601, and the same with slashes or dots
# (2012/01/31, 2012.1.31), which spreadsheets and R write.
_YEAR_FIRST_DATETIME = (
    r"(\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}|\d{4}\.\d{1,2}\.\d{1,2})"
    r"([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)
# An integer column needs this many rows before "all values distinct" means identifier.
_MIN_ROWS_FOR_IDENTIFIER = 100
# A value on this many rows or fewer cannot be learned as a category (one row to fit, one to check).
_RARE_ROWS = 2


def infer_task(label: pd.Series, target: TargetSettings, settings: RoleInferenceSettings) -> str | None:
    """binary, multiclass or regression: as set in params, else read from the values.

    A threshold or two distinct values make a binary task; a numeric target with
    fractional values, or more than `max_classes` distinct integers, is regression;
    anything else (text labels, a few integer codes) is multiclass. None when the
    target has fewer than two values: validation reports that, naming the column.
    """
    values = label.dropna()
    distinct = values.nunique()
    if target.threshold is not None:
        return BINARY.name
    if target.task is not None:
        task_named(target.task).check_target(values, target)
        return target.task
    if distinct < 2:
        return None
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    fractional = numeric and bool((values.astype("float64") % 1 != 0).any())
    task = infer_task_name(distinct, numeric, fractional, settings.max_classes)
    logger.info(
        "task inferred from target %r: %s (%d distinct values; set preprocess.target.task to override)",
        target.column,
        task,
        distinct,
    )
    return task


def infer_roles(
    frame: Columns,
    target: TargetSettings,
    outcome_columns: list[str],
    overrides: dict[str, str],
    settings: RoleInferenceSettings,
) -> dict[str, dict[str, str]]:
    """column -> {"role", "reason"} for every column of the joined table."""
    unknown = sorted(set(overrides) - set(frame.columns))
    if unknown:
        raise LifecycleError(
            f"preprocess.roles: unknown column(s) {unknown}; available: {sorted(map(str, frame.columns))}"
        )
    roles = {}
    for column in frame.columns:
        name = str(column)
        if name in (target.column, target.name):
            roles[name] = {"role": "target", "reason": "preprocess.target"}
        elif name in outcome_columns:
            roles[name] = {"role": "outcome", "reason": "preprocess.outcome_columns: known only after the event"}
        elif name in overrides:
            roles[name] = {"role": overrides[name], "reason": DECLARED}
        else:
            roles[name] = _infer_role(frame[column], settings)
    for name, entry in roles.items():
        if entry["role"] not in FEATURE_ROLES and entry["role"] not in ("target", "outcome"):
            logger.info("column %r dropped: %s (%s)", name, entry["role"], entry["reason"])
    return roles


def _infer_role(series: pd.Series, settings: RoleInferenceSettings) -> dict[str, str]:
    values = series.dropna()
    if values.empty:
        return {"role": "constant", "reason": "no values at all"}
    distinct = int(values.nunique())
    if distinct == 1:
        only = values.iloc[0]
        return {"role": "constant", "reason": f"a single value ({getattr(only, 'item', lambda: only)()!r})"}
    if pd.api.types.is_bool_dtype(series):
        return {"role": "boolean", "reason": "boolean dtype"}
    if pd.api.types.is_datetime64_any_dtype(series):
        return {"role": "datetime", "reason": "datetime dtype: expands into parts"}
    unique_share = distinct / len(values)
    if pd.api.types.is_numeric_dtype(series):
        if (
            pd.api.types.is_integer_dtype(series)
            and len(values) >= _MIN_ROWS_FOR_IDENTIFIER
            and unique_share >= settings.identifier_unique_share
        ):
            return {"role": "identifier", "reason": f"integers, {unique_share:.0%} distinct"}
        return {"role": "numeric", "reason": f"{series.dtype} dtype"}
    # Read the distinct values only: as exact for these questions, and a categorical
    # column of 300,000 rows has a few hundred of them.
    text = pd.Series(values.unique()).astype(str)
    if bool(text.str.fullmatch(_YEAR_FIRST_DATETIME).all()):
        return {"role": "datetime", "reason": "text holding year-first dates: expands into parts"}
    words = float(text.str.split().str.len().mean())
    if words >= settings.text_min_words:
        return {"role": "text", "reason": f"free text, {words:.1f} words per distinct value on average"}
    if len(values) >= _MIN_ROWS_FOR_IDENTIFIER:
        if unique_share >= settings.identifier_unique_share:
            return {"role": "identifier", "reason": f"text, {unique_share:.0%} distinct"}
        counts = values.value_counts()
        rare = float(counts[counts <= _RARE_ROWS].sum() / len(values))
        if rare > settings.identifier_rare_share:
            return {"role": "identifier", "reason": f"text, {rare:.0%} of rows hold a value at most two rows share"}
    return {"role": "categorical", "reason": f"text, {distinct} distinct values"}


# The preprocess.dtypes kind that gives a column declared in preprocess.roles its role.
_ROLE_DTYPES = {"numeric": "float", "categorical": "string", "boolean": "bool", "datetime": "datetime"}


def apply_roles(frame: Columns, roles: dict[str, dict[str, str]]) -> Columns:
    """Give every column declared in preprocess.roles the dtype its role implies, and
    text inferred to hold dates a datetime dtype (a `PartColumns` casts each as it is read).

    Featurize routes columns by dtype, so an integer code declared categorical must
    become text, and numbers stored as text declared numeric must become numbers.
    """
    declared = {
        name: _ROLE_DTYPES[entry["role"]]
        for name, entry in roles.items()
        if entry["role"] in _ROLE_DTYPES
        and (entry["reason"] == DECLARED or _undeclared_text_dates(frame, name, entry["role"]))
    }
    return frame.coerced(declared) if isinstance(frame, PartColumns) else coerce_dtypes(frame, declared)


def _undeclared_text_dates(frame: Columns, name: str, role: str) -> bool:
    # the role first: a `PartColumns` reads the column from disk
    return role == "datetime" and not pd.api.types.is_datetime64_any_dtype(frame[name])


def dropped_columns(roles: dict[str, dict[str, str]]) -> list[str]:
    """Columns whose role keeps them out of the model (identifier, text, constant, drop)."""
    return sorted(n for n, e in roles.items() if e["role"] not in (*FEATURE_ROLES, "target", "outcome"))
