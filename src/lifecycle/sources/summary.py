"""The summary collect writes of each snapshot (metrics/collect.json)."""

from __future__ import annotations

import pandas as pd


def summarize_table(frame: pd.DataFrame) -> dict[str, object]:
    """Rows, columns, and each column's dtype and null count: what a reviewer needs to see a
    data change.

    The per-column profile is a list of rows, so `dvc metrics show` and `dvc exp show`
    show the two counts and leave the profile to `git diff` (a column each would swamp them).
    """
    nulls = frame.isna().sum()
    return {
        "rows": int(len(frame)),
        "columns": int(frame.shape[1]),
        "profile": [
            {"column": str(column), "dtype": str(dtype), "nulls": int(nulls[column])}
            for column, dtype in frame.dtypes.items()
        ],
    }
