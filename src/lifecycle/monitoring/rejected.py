"""Rejected requests in a window: the prediction requests the service refused (4xx, nothing
scored), counted by status beside all the prediction requests of the window and of each
day or week in it.

Why from the log's database and not from Prometheus: the service's counters hold every
request since its process started, so they cannot say how many of a given window's
requests were refused; the service records each refusal in a table beside the
predictions (`serve.log.rejected_table`). A database written before that table existed
is reported as not recorded, never as none rejected.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lifecycle.metrics.rounding import rounded
from lifecycle.monitoring.performance import window_starts

NOT_RECORDED: dict[str, Any] = {"recorded": False}


def _counts(answered: pd.Series, refused: pd.DataFrame) -> dict[str, Any]:
    """Requests (answered and refused), refused ones, their share and their count by status."""
    requests = len(answered) + len(refused)
    by_status = refused["status"].value_counts().sort_index()
    return {
        "requests": requests,
        "rejected": len(refused),
        "share": rounded(len(refused) / requests) if requests else 0.0,
        "by_status": {str(status): int(count) for status, count in by_status.items()},
    }


def rejected_requests(
    log: pd.DataFrame, rejected: pd.DataFrame | None, since: pd.Timestamp, until: pd.Timestamp, window: str
) -> dict[str, Any]:
    """Rejected requests of the window and of each sub-window (`window`: day or week), against
    the requests the log answered (one per request id in `log`). `rejected` is None when the
    database does not record them."""
    if rejected is None:
        return NOT_RECORDED
    answered = log.drop_duplicates("request_id")["logged_at"]
    step = pd.Timedelta(days=7 if window == "week" else 1)
    windows = []
    for start in window_starts(since, until, window):
        inside = rejected["logged_at"].between(start, start + step, "left")
        windows.append(
            {
                "start": start.isoformat(),
                **_counts(answered[answered.between(start, start + step, "left")], rejected[inside]),
            }
        )
    return {"recorded": True, **_counts(answered, rejected), "windows": windows}
