"""preprocess as pure functions: raw tables in, a validated, labelled, split table out.

Three steps, so the stage can write the validation report before it decides to stop:
`prepare` joins the sources (`join_sources`, which the dask engine runs partition by
partition instead) and infers the task and every column's role (`describe`), `validate`
checks the joined table, `label_and_split` derives the target and splits. `preprocess`
runs all three and raises on a validation error (what tests and notebooks call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lifecycle.artifacts import InterimRoles
from lifecycle.config import PreprocessSettings, ValidationSettings
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.context import add_context
from lifecycle.preprocessing.labels import Target, derive_target, raw_label
from lifecycle.preprocessing.missing import mark_missing
from lifecycle.preprocessing.roles import apply_roles, dropped_columns, infer_roles, infer_task
from lifecycle.preprocessing.splitting import split_positions
from lifecycle.preprocessing.tables import Columns, coerce_dtypes, drop_exact_duplicates, join_table, require_columns
from lifecycle.tasks.registry import task_named
from lifecycle.validation.report import raise_on_errors, validate_table


@dataclass(frozen=True)
class Prepared:
    """The joined table and what was inferred about it, before anything is dropped."""

    table: Columns  # a DataFrame; under engine dask, its parts on disk (`PartColumns`)
    label: pd.Series | None
    task: str | None
    roles: dict[str, dict[str, str]]
    counts: dict[str, dict[str, int]]


Counts = dict[str, dict[str, int]]


def prepare(tables: dict[str, pd.DataFrame], settings: PreprocessSettings) -> Prepared:
    """Join the sources (`join_sources`), then infer the task and the column roles (`describe`)."""
    return describe(*join_sources(tables, settings), settings)


def join_sources(tables: dict[str, pd.DataFrame], settings: PreprocessSettings) -> tuple[pd.DataFrame, Counts]:
    """Read sentinels as missing, dedupe, join, coerce, add context; return the joined table
    and what each step counted for the report.

    Order matters: sentinels go first (a placeholder must not decide a column's type or
    role), duplicates before the joins (so no base row is multiplied), and
    context features are computed on every scheduled row, including those later
    excluded for lacking a target (a cancelled flight still congested its airport).
    """
    deduped = {}
    duplicates = {}
    sentinels = {}
    for name, frame in tables.items():
        if frame.empty:
            raise LifecycleError(f"raw table {name!r} is empty")
        marked, sentinels[name] = mark_missing(frame, settings.na_values)
        deduped[name], duplicates[name] = drop_exact_duplicates(marked)
    joined = deduped[settings.base]
    joins = {}
    for join in settings.joins:
        joined, joins[join.source] = join_table(joined, deduped[join.source], join)
    joined = add_context(coerce_dtypes(joined, settings.dtypes), settings.context)
    counts = {
        "input_rows": {name: int(len(frame)) for name, frame in tables.items()},
        "na_values": {name: found for name, found in sentinels.items() if found},
        "exact_duplicates": duplicates,
        "duplicate_join_keys": {name: c["right_duplicate_keys"] for name, c in joins.items()},
        "inner_join": {name: c["dropped_by_inner_join"] for name, c in joins.items()},
        "unmatched_in_join": {name: c["unmatched_left_rows"] for name, c in joins.items()},
    }
    return joined, counts


def describe(joined: Columns, counts: Counts, settings: PreprocessSettings) -> Prepared:
    """Infer the task and every column's role of the joined table (which needs all its rows)."""
    require_columns(joined, settings.outcome_columns, "preprocess.outcome_columns")
    roles = infer_roles(joined, settings.target, settings.outcome_columns, settings.roles, settings.role_inference)
    joined = apply_roles(joined, roles)
    label = raw_label(joined, settings.target)
    task = None if label is None else infer_task(label, settings.target, settings.role_inference)
    return Prepared(table=joined, label=label, task=task, roles=roles, counts=counts)


def validate(prepared: Prepared, settings: PreprocessSettings, validation: ValidationSettings) -> dict[str, object]:
    """The validation report of the joined table (see `lifecycle.validation`)."""
    counts = prepared.counts
    duplicates = {name: (counts["exact_duplicates"][name], rows) for name, rows in counts["input_rows"].items()}
    return validate_table(
        prepared.table,
        prepared.label,
        settings.target.column,
        prepared.task,
        prepared.roles,
        validation,
        source_duplicates=duplicates,
    )


@dataclass(frozen=True)
class Split:
    """Which rows of the joined table train and test take, their encoded targets, the
    report of what was dropped and counted, and the task."""

    rows: tuple[np.ndarray, np.ndarray]  # positions in the joined table: train, test
    labels: tuple[pd.Series, pd.Series]  # the encoded target of those rows, named as the target
    report: dict[str, object]
    target: Target


def split_rows(prepared: Prepared, settings: PreprocessSettings) -> Split:
    """Derive the encoded target, drop (and count) rows without one, and split, reading the
    time column and the target alone: the rows are taken afterwards (`rows_with_target`),
    once, or a part at a time (copying the table whole at each step held it four times)."""
    if prepared.label is None or prepared.task is None:
        raise LifecycleError(f"target column {settings.target.column!r} is missing or has a single value")
    name = settings.target.name
    time_column = [settings.split.time_column] if settings.split.method == "time" else []
    table = prepared.table
    narrow = pd.DataFrame({c: table[c] for c in time_column if c in table.columns}, index=pd.RangeIndex(len(table)))
    labelled, without_target = derive_target(narrow, prepared.label, name)
    task = task_named(prepared.task)
    labelled[name], classes = task.encode_label(labelled[name], settings.target)
    target = Target(task.name, classes)
    rows = np.flatnonzero(prepared.label.notna().to_numpy())  # the labelled rows of the table
    chosen = split_positions(labelled, settings.split, name, task.classification)
    train, test = (rows[positions] for positions in chosen)
    labels = tuple(labelled[name].iloc[positions].reset_index(drop=True) for positions in chosen)
    counts = prepared.counts
    report = {
        "input_rows": counts["input_rows"],
        "read_as_missing": counts["na_values"],  # cells holding a `preprocess.na_values` sentinel
        "dropped": {
            "exact_duplicates": counts["exact_duplicates"],
            "missing_target": without_target,
            "duplicate_join_keys": counts["duplicate_join_keys"],
            "inner_join": counts["inner_join"],
        },
        "unmatched_in_join": counts["unmatched_in_join"],
        "output_rows": {"train": int(len(train)), "test": int(len(test))},
        "task": target.task,
        "target": {"train": task.target_summary(labels[0]), "test": task.target_summary(labels[1])},
    }
    return Split((train, test), labels, report, target)


def rows_with_target(table: pd.DataFrame, rows: np.ndarray, labels: pd.Series) -> pd.DataFrame:
    """The table's rows at positions `rows`, their encoded target appended as the last column."""
    taken = table.take(rows).reset_index(drop=True)
    taken[labels.name] = labels.reset_index(drop=True)
    return taken


def label_and_split(
    prepared: Prepared, settings: PreprocessSettings
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object], Target]:
    """`split_rows`, with the train and test rows taken from the table."""
    split = split_rows(prepared, settings)
    train, test = (rows_with_target(prepared.table, r, t) for r, t in zip(split.rows, split.labels, strict=True))
    return train, test, split.report, split.target


def preprocess(
    tables: dict[str, pd.DataFrame],
    settings: PreprocessSettings,
    validation: ValidationSettings = ValidationSettings(),
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object]]:
    """prepare, validate (raising on errors) and label_and_split, in one call."""
    prepared = prepare(tables, settings)
    raise_on_errors(validate(prepared, settings, validation), "the validation report")
    train, test, report, _ = label_and_split(prepared, settings)
    return train, test, report


def column_roles(prepared: Prepared, target: Target, settings: PreprocessSettings) -> InterimRoles:
    """What later stages must know about the interim data: target, task, roles, split method.

    Outcome columns (known only after the event) and the target's source column travel
    with the data as `excluded`, so featurize can keep them out without reading preprocess
    params; `dropped` columns (identifiers, free text, constants) are out by role, unless
    a featurize difference needs them. Train picks time-ordered folds for a time split.
    """
    excluded = sorted({*settings.outcome_columns, settings.target.column, settings.target.name})
    return InterimRoles(
        target=settings.target.name,
        task=target.task,
        classes=target.classes,
        excluded=excluded,
        dropped=[c for c in dropped_columns(prepared.roles) if c not in excluded],
        split=settings.split.method,
        columns=prepared.roles,
    )
