"""Checks of the target: is there one to learn, and are its classes frequent enough."""

from __future__ import annotations

import pandas as pd

from lifecycle.metrics.rounding import rounded
from lifecycle.validation.base import Findings, Table, check
from lifecycle.validation.display import show


@check("warning")
def target_missing_values(table: Table, findings: Findings) -> None:
    """some rows have no target: preprocess drops and counts them; no target at all is an error

    `value` = the share of rows without a target. When *every* row lacks one (or the table
    has no rows) the check is an error whatever its configured severity, unless off.
    """
    if table.label is None:
        return
    target = table.target_column
    missing = int(table.label.isna().sum())
    rows = len(table.label)
    if rows == 0 or missing == rows:
        findings.fail(
            target,
            f"target column {target!r} has no value in any of the {rows} rows, so there is "
            "nothing to learn; check preprocess.target.column and the source",
            value=1.0,
            severity="error",
        )
    elif missing:
        findings.fail(
            target,
            f"target column {target!r} is missing in {missing} of {rows} rows "
            f"({missing / rows:.1%}); preprocess drops those rows, so check the source if that is "
            "unexpected",
            value=rounded(missing / rows),
        )


@check("error")
def target_constant(table: Table, findings: Findings) -> None:
    """the target has a single value: nothing to learn"""
    if table.label is None:
        return
    values = table.label.dropna()
    if not values.empty and values.nunique() == 1:
        findings.fail(
            table.target_column,
            f"the target (column {table.target_column!r}) has the single value "
            f"{show(values.iloc[0])} in "
            f"all {len(values)} labelled rows, so there is nothing to learn; check the source and "
            "preprocess.target (column, threshold)",
            value=1,
        )


@check("warning")
def class_balance(table: Table, findings: Findings) -> None:
    """a class holds less than `min_class_share` (1 %) of the rows

    Classification only; `value` = the smallest share among the labelled rows.
    """
    counts = _class_counts(table)
    if counts is None:
        return
    settings, target = table.settings, table.target_column
    total = int(counts.sum())
    if not total:
        return
    low = counts[counts / total < settings.min_class_share].sort_values(kind="stable")
    if len(low):
        shown = ", ".join(f"{show(c)} ({n / total:.2%}, {n} rows)" for c, n in low.items())
        findings.fail(
            target,
            f"the target (column {target!r}) has {len(low)} class(es) below "
            f"validation.min_class_share ({settings.min_class_share:.2%}) of the {total} labelled "
            f"rows: {shown}; the model may never predict them, so collect more examples, merge "
            "rare classes, or lower the share",
            value=rounded(low.iloc[0] / total),
            threshold=settings.min_class_share,
        )


@check("error")
def rare_class(table: Table, findings: Findings) -> None:
    """a class has fewer than `min_class_rows` (10) rows: too few to split and cross-validate

    Classification only; `value` = the smallest count.
    """
    counts = _class_counts(table)
    if counts is None:
        return
    settings, target = table.settings, table.target_column
    rare = counts[counts < settings.min_class_rows].sort_values(kind="stable")
    if len(rare):
        shown = ", ".join(f"{show(c)} ({n} rows)" for c, n in rare.items())
        findings.fail(
            target,
            f"the target (column {target!r}) has {len(rare)} class(es) with fewer than "
            f"validation.min_class_rows ({settings.min_class_rows}) rows: {shown}; too few to split "
            "and cross-validate, so collect more examples, merge or remove the class, or lower "
            "validation.min_class_rows",
            value=int(rare.iloc[0]),
            threshold=settings.min_class_rows,
        )


def class_counts(label: pd.Series) -> pd.Series:
    """Labelled rows per class, classes in the order of their text."""
    counts = label.dropna().value_counts()
    return counts.sort_index(key=lambda index: index.map(str))


def _class_counts(table: Table) -> pd.Series | None:
    """The class counts a class check reads; None for regression (skipped without a task)."""
    task = table.require_task()
    return class_counts(table.label) if task.classification else None
