"""Checks that the expected columns are there with the expected kinds of values."""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd

from lifecycle.packaging.schema import column_kind
from lifecycle.preprocessing.roles import DECLARED
from lifecycle.validation.base import Findings, Table, check
from lifecycle.validation.display import did_you_mean, examples, most_frequent

# A number as text: optional sign, digits with optional decimals (or only decimals), an
# optional exponent; surrounding spaces are allowed. "1,234", "12 kg" and "unknown" are not.
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


@check("error")
def missing_column(table: Table, findings: Findings) -> None:
    """a column listed in `validation.columns`, or the target, is not in the table (close
    spellings are suggested)

    The target column (`preprocess.target.column`) being absent is reported here too,
    naming it as the target.
    """
    present = [str(c) for c in table.frame.columns]
    target = table.target_column
    if target not in present:
        findings.fail(
            target,
            f"target column {target!r} (preprocess.target.column) is absent from the joined "
            f"table{did_you_mean(target, present)}; fix the name or add the column to the "
            "base source",
        )
    for column in sorted(table.settings.columns):
        if column not in present and column != target:
            findings.fail(
                column,
                f"column {column!r} is listed in validation.columns but absent from the joined "
                f"table{did_you_mean(column, present)}; add it to a source or remove it from "
                "validation.columns",
            )


@check("error")
def dtype(table: Table, findings: Findings) -> None:
    """a column's kind differs from `validation.columns.<col>.kind`; fix the source or
    declare the role

    A column's kind is read from its pandas dtype as the packaged schema reads it: boolean,
    numeric, datetime, else categorical.
    """
    frame = table.frame
    for column, expected in sorted(table.settings.columns.items()):
        if expected.kind is None or column not in frame.columns:
            continue
        actual = column_kind(frame[column])
        if actual != expected.kind:
            findings.fail(
                column,
                f"column {column!r} is {actual} (dtype {frame[column].dtype}) but "
                f"validation.columns.{column}.kind expects {expected.kind}; fix the source or "
                f"declare preprocess.roles.{column}: {expected.kind}",
            )


@check("error")
def mixed_types(table: Table, findings: Findings) -> None:
    """a text column holds several kinds of values: numbers and text in one JSON/SQL column,
    or (from CSV) mostly numbers with some text such as `unknown` or `12 kg`; fix the cells,
    declare the placeholder in `preprocess.na_values`, or declare the column's role

    A text (object or string dtype) column fails when (a) it holds Python values of
    different types (numbers and text, booleans and text, ...: what JSON, SQL or API
    sources give; int and float count as one kind, numbers), or (b) all values are text
    (what a CSV gives) and *more than half* of the non-null values look like numbers
    (optional sign, digits, optional decimals and exponent, surrounding spaces allowed)
    while the others do not. A column where at most half the values look like numbers is
    categorical (codes such as "A7", "12", "B3"), not mixed. `value` = how many values are
    not numbers. Not checked: outcome columns, category dtype columns, and columns whose
    role is set in `preprocess.roles` (declaring `categorical` there is how a user says
    "this is text").
    """
    for column in table.frame.columns:
        name = str(column)
        series = table.frame[column]
        declared = table.roles.get(name, {}).get("reason") == DECLARED
        if not _is_text_dtype(series) or declared or table.role_of[name] == "outcome":
            continue
        values = series.dropna()
        if values.empty:
            continue
        if isinstance(series.dtype, pd.StringDtype):
            kinds = pd.Series("text", index=values.index)
        else:
            kinds = values.map(_value_kind)
        if kinds.nunique() > 1:
            shares = kinds.value_counts()
            shares = shares.sort_index().sort_values(ascending=False, kind="stable")
            minority = kinds != shares.index[0]
            described = ", ".join(f"{n} {kind}" for kind, n in shares.items())
            findings.fail(
                name,
                f"column {name!r} mixes value types ({described}), e.g. "
                f"{examples(values[minority])}; make the source write one type per column, or "
                f"declare preprocess.roles.{name}: categorical if it is a category",
                value=int(minority.sum()),
            )
            continue
        if (kinds != "text").any():
            continue
        text = values.astype(str).value_counts()
        numeric = np.array([_NUMBER.fullmatch(v) is not None for v in text.index])
        looks_numeric = int(text[numeric].sum())
        others = text[~numeric]
        if looks_numeric * 2 > len(values) and len(others):
            findings.fail(
                name,
                f"column {name!r} holds numbers as text in {looks_numeric} of {len(values)} "
                "non-missing "
                f"rows, but {int(others.sum())} value(s) are not numbers, e.g. "
                f"{', '.join(repr(v) for v in most_frequent(others))}; clean them at the source "
                f"(leave a cell empty when the value is missing), or declare "
                f"preprocess.roles.{name}: categorical if it is a category",
                value=int(others.sum()),
            )


def _is_text_dtype(series: pd.Series) -> bool:
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype)


def _value_kind(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return "date/time"
    return type(value).__name__
