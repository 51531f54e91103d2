"""Checks of the values: gaps, empty columns, repeated rows, and the ranges and categories a
user expects (`validation.columns`)."""

from __future__ import annotations

import pandas as pd

from lifecycle.config import ColumnExpectation
from lifecycle.metrics.rounding import rounded
from lifecycle.preprocessing.roles import FEATURE_ROLES
from lifecycle.validation.base import Findings, Table, check
from lifecycle.validation.display import most_frequent, show, show_plain


@check("warning")
def missing_values(table: Table, findings: Findings) -> None:
    """a feature is missing in more than `max_missing_share` (50 %) of rows; the gaps are imputed

    Feature columns only (role numeric, categorical, boolean or datetime); empty columns are
    reported by `empty_column` instead.
    """
    frame, settings = table.frame, table.settings
    if not len(frame):
        return
    for column in frame.columns:
        name = str(column)
        if table.role_of[name] not in FEATURE_ROLES:
            continue
        share = float(frame[column].isna().mean())
        if settings.max_missing_share < share < 1:
            findings.fail(
                name,
                f"column {name!r} is missing in {share:.1%} of rows, more than "
                f"validation.max_missing_share ({settings.max_missing_share:.1%}); the gaps will be "
                "imputed, so check its source and join, or drop it with "
                f"preprocess.roles.{name}: drop",
                value=rounded(share),
                threshold=settings.max_missing_share,
            )


@check("warning")
def empty_column(table: Table, findings: Findings) -> None:
    """a column has no values at all; it is dropped

    Any column but the target.
    """
    frame = table.frame
    for column in frame.columns:
        name = str(column)
        if name != table.target_column and len(frame) and frame[column].isna().all():
            findings.fail(
                name,
                f"column {name!r} has no value in any of the {len(frame)} rows and will be "
                "dropped; "
                "check the source or the join that should fill it",
                value=1.0,
            )


@check("warning")
def duplicates(table: Table, findings: Findings) -> None:
    """a source repeats more than `max_duplicate_share` (5 %) of its rows exactly; preprocess
    removes them

    A duplicate is a row identical in every column to an earlier row of the same source,
    counted before preprocess removes it.
    """
    if not len(table.frame):
        return
    settings = table.settings
    counted = table.source_duplicates or {None: (_repeated_rows(table.frame), len(table.frame))}
    for source, (repeated, rows) in sorted(counted.items(), key=lambda item: str(item[0])):
        share = repeated / rows if rows else 0.0
        if share > settings.max_duplicate_share:
            where = f"source {source!r}: " if source is not None else ""
            findings.fail(
                None,
                f"{where}{repeated} of {rows} rows ({share:.1%}) repeat an earlier row exactly, "
                "more than "
                f"validation.max_duplicate_share ({settings.max_duplicate_share:.1%}); preprocess "
                "removes them, but check the source for repeated records, or raise the share if "
                "the repeats are expected",
                value=rounded(share),
                threshold=settings.max_duplicate_share,
            )


@check("error")
def out_of_range(table: Table, findings: Findings) -> None:
    """values outside `validation.columns.<col>.min` / `max` (count and extreme shown)

    One finding per side; values that are not numbers are left to `mixed_types`. `value` =
    the most extreme such value, `threshold` = the bound.
    """
    frame = table.frame
    for column, expected in sorted(table.settings.columns.items()):
        if column not in frame.columns or (expected.min is None and expected.max is None):
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        for side, bound in (("min", expected.min), ("max", expected.max)):
            if bound is None:
                continue
            outside = numbers[numbers < bound] if side == "min" else numbers[numbers > bound]
            if outside.empty:
                continue
            extreme = outside.min() if side == "min" else outside.max()
            word, which = ("below", "lowest") if side == "min" else ("above", "highest")
            findings.fail(
                column,
                f"column {column!r} has {len(outside)} value(s) {word} "
                f"validation.columns.{column}.{side} "
                f"({show(bound)}), the {which} {show(extreme)}; fix them at the source, or widen "
                "the range if they are valid",
                value=extreme,
                threshold=bound,
            )


@check("warning")
def unexpected_category(table: Table, findings: Findings) -> None:
    """values outside `validation.columns.<col>.categories`

    A value matches when it or its text equals a listed category's; `value` = how many rows
    hold other values.
    """
    frame = table.frame
    for column, expected in sorted(table.settings.columns.items()):
        if column not in frame.columns or expected.categories is None:
            continue
        values = frame[column].dropna()
        bad = [v for v in values.unique() if not _is_expected(v, expected)]
        unexpected = values[values.isin(bad)]
        if unexpected.empty:
            continue
        counts = unexpected.map(show).value_counts()
        findings.fail(
            column,
            f"column {column!r} has {len(unexpected)} row(s) holding {len(counts)} value(s) not in "
            f"validation.columns.{column}.categories, e.g. {', '.join(most_frequent(counts))}; add "
            "them to the list if they are valid, or fix the source",
            value=len(unexpected),
        )


def _repeated_rows(frame: pd.DataFrame) -> int:
    try:
        return int(frame.duplicated().sum())
    except TypeError:  # unhashable values (lists, dicts from JSON): compare their text
        return int(frame.astype(str).duplicated().sum())


def _is_expected(value: object, expected: ColumnExpectation) -> bool:
    allowed = expected.categories or []
    if value in allowed:
        return True
    text = str(show_plain(value))
    return any(text == str(c) for c in allowed)
