"""preprocess as a pure function: raw tables in, train/test frames and a drop report out."""

from __future__ import annotations

import pandas as pd

from lifecycle.config import PreprocessSettings
from lifecycle.context import add_context
from lifecycle.errors import LifecycleError
from lifecycle.labels import derive_target
from lifecycle.splitting import split_rows
from lifecycle.tables import coerce_dtypes, drop_exact_duplicates, join_table, require_columns


def preprocess(
    tables: dict[str, pd.DataFrame], settings: PreprocessSettings
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object]]:
    """Dedupe, join, coerce, add context, derive the target and split.

    Order matters: duplicates go before the joins (so no base row is multiplied), and
    context features are computed on every scheduled row, including those later
    excluded for lacking a target (a cancelled flight still congested its airport).
    """
    deduped = {}
    duplicates = {}
    for name, frame in tables.items():
        if frame.empty:
            raise LifecycleError(f"raw table {name!r} is empty")
        deduped[name], duplicates[name] = drop_exact_duplicates(frame)
    joined = deduped[settings.base]
    joins = {}
    for join in settings.joins:
        joined, joins[join.source] = join_table(joined, deduped[join.source], join)
    joined = add_context(coerce_dtypes(joined, settings.dtypes), settings.context)
    require_columns(joined, settings.outcome_columns, "preprocess.outcome_columns")
    labelled, without_target = derive_target(joined, settings.target)
    train, test = split_rows(labelled, settings.split, settings.target.name)
    report = {
        "input_rows": {name: int(len(frame)) for name, frame in tables.items()},
        "dropped": {
            "exact_duplicates": duplicates,
            "missing_target": without_target,
            "duplicate_join_keys": {name: c["right_duplicate_keys"] for name, c in joins.items()},
            "inner_join": {name: c["dropped_by_inner_join"] for name, c in joins.items()},
        },
        "unmatched_in_join": {name: c["unmatched_left_rows"] for name, c in joins.items()},
        "output_rows": {"train": int(len(train)), "test": int(len(test))},
        "positive_rate": {
            "train": _positive_rate(train[settings.target.name]),
            "test": _positive_rate(test[settings.target.name]),
        },
    }
    return train, test, report


def column_roles(settings: PreprocessSettings) -> dict[str, object]:
    """What later stages must know about the interim data: target, outcomes, split method.

    Outcome columns (known only after the event) and the target's source column travel
    with the data, so featurize can exclude them without reading preprocess params, and
    train picks time-ordered folds for a time split without reading them either.
    """
    excluded = sorted({*settings.outcome_columns, settings.target.column, settings.target.name})
    return {"target": settings.target.name, "excluded": excluded, "split": settings.split.method}


def _positive_rate(label: pd.Series) -> float | None:
    if not pd.api.types.is_numeric_dtype(label):
        return None
    return round(float(label.mean()), 6)
