"""The summary collect writes of each snapshot (metrics/collect.json)."""

from __future__ import annotations

import pandas as pd

Summary = dict[str, object]


def summarize_table(frame: pd.DataFrame) -> Summary:
    """Rows, columns, and each column's dtype and null count: what a reviewer needs to see a
    data change.

    The per-column profile is a list of rows, so `dvc metrics show` and `dvc exp show`
    show the two counts and leave the profile to `git diff` (a column each would swamp them).
    """
    return summary_of(len(frame), frame.dtypes, frame.isna().sum())


def summary_of(rows: int, dtypes: pd.Series, nulls: pd.Series) -> Summary:
    """`summarize_table`'s summary from the counts alone (a table written part by part)."""
    return {
        "rows": int(rows),
        "columns": len(dtypes),
        "profile": [
            {"column": str(column), "dtype": str(dtype), "nulls": int(nulls[column])}
            for column, dtype in dtypes.items()
        ],
    }
