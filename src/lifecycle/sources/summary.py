"""The summary collect writes of each snapshot (metrics/collect.json)."""

from __future__ import annotations

import pandas as pd


def summarize_table(frame: pd.DataFrame) -> dict[str, object]:
    """Rows, columns, dtypes and null counts: what a reviewer needs to see a data change."""
    return {
        "rows": int(len(frame)),
        "columns": int(frame.shape[1]),
        "dtypes": {str(column): str(dtype) for column, dtype in frame.dtypes.items()},
        "nulls": {str(column): int(count) for column, count in frame.isna().sum().items()},
    }
