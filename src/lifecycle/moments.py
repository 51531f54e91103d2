"""A date from params compared with a table's time column, the same way everywhere.

The time split's cutoff and a source's `known_before` are both "before this moment"; one
reading of the date keeps the rows a source knows and the rows the split trains on in step
(a naive date in a zone-aware column means that zone, as a user writing "2013-07-01" means).
"""

from __future__ import annotations

import pandas as pd


def moment_in(times: pd.Series, date: str) -> pd.Timestamp:
    """`date` as a timestamp comparable with the datetime series `times`."""
    moment = pd.Timestamp(date)
    zone = times.dt.tz
    if zone is not None and moment.tz is None:
        return moment.tz_localize(zone)
    if zone is None and moment.tz is not None:
        return moment.tz_convert(None)
    return moment
