"""How values appear in validation messages and the report: plain Python values, JSON-safe
numbers, the most frequent few examples, close spellings of a missing name."""

from __future__ import annotations

import difflib
import math

import numpy as np
import pandas as pd

from lifecycle.metrics.rounding import rounded

# Examples a message gives at most.
EXAMPLES = 3
# Columns listed when a named column is missing; a wide table's list is cut here.
LISTED_COLUMNS = 40


def show_plain(value: object) -> object:
    """A numpy / pandas scalar as the plain Python value (a timestamp as ISO text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def show(value: object) -> str:
    """A value as a message quotes it."""
    return repr(show_plain(value))


def json_number(value: object) -> int | float | None:
    """A JSON-safe number: int stays int, floats rounded, NaN / inf / None become None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    value = float(value)
    return rounded(value) if math.isfinite(value) else None


def most_frequent(counts: pd.Series) -> list[str]:
    """Up to EXAMPLES index entries, most frequent first, ties in text order."""
    frame = pd.DataFrame({"value": counts.index.map(str), "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "value"], ascending=[False, True], kind="stable")
    return frame["value"].head(EXAMPLES).tolist()


def examples(values: pd.Series) -> str:
    """The most frequent few values, quoted, for a message."""
    return ", ".join(most_frequent(values.map(show).value_counts()))


def did_you_mean(name: str, present: list[str]) -> str:
    """Close spellings if any, else the table's columns, so the user sees what there is."""
    close = difflib.get_close_matches(name, present, n=3)
    if close:
        return f" (did you mean {', '.join(map(repr, close))}?)"
    listed = sorted(present)
    more = f", ... ({len(listed) - LISTED_COLUMNS} more)" if len(listed) > LISTED_COLUMNS else ""
    return f" (its columns: {', '.join(map(repr, listed[:LISTED_COLUMNS]))}{more})"
