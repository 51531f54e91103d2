"""Unusual drift: a column that differs from the recent windows far more than the recent
windows differ from one another.

Why: seasonal data drifts all the time. For flights, a dozen weather columns drift against
training every week, and against the week before too, by more than a broken client moves its
column (distance sent in kilometres: a normed Wasserstein distance of 0.9 against training,
dew point 1.2). Ranking by drift names the weather; comparing each column with its own recent
past names the fault.

The measure is PSI, computed on one unbounded scale for every column kind. A column's usual
variation is the largest PSI of one history window against the other history windows pooled
(so at least two are needed); this window's is its PSI against all of them pooled. It is
unusual when that reaches `unusual_psi` (0.25, PSI's usual "major shift") and `unusual_factor`
times its usual variation. Columns expected to drift are not judged. Measured on the 2013
test flights (`bench/replay.py`): kilometres for miles gives 500 times the usual variation,
Celsius for Fahrenheit 8 times, and among the healthy weeks only the week of a storm
(wind gusts, 9.5 times) comes above the default factor of 5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from lifecycle.config import DriftSettings
from lifecycle.metrics.rounding import rounded
from lifecycle.monitoring.drift import Kind, clean, psi


@dataclass(frozen=True)
class UnusualDrift:
    """A column far from the recent windows, compared with how far they are from one another."""

    column: str
    psi: float  # this window against the history windows pooled
    usual: float  # the largest PSI of one history window against the others
    windows: int  # history windows

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["psi"], data["usual"] = rounded(self.psi), rounded(self.usual)
        return data

    def sentence(self) -> str:
        return (
            f"{self.column} (PSI {self.psi:.3g} against the {self.windows} windows before, "
            f"which differ from one another by at most {self.usual:.3g})"
        )


def _pooled(windows: Sequence[pd.DataFrame], name: str) -> pd.Series:
    return clean(pd.concat([w[name] for w in windows], ignore_index=True))


def usual_psi(history: Sequence[pd.DataFrame], kinds: Mapping[str, Kind]) -> dict[str, float]:
    """Per column, how far the history windows are from one another: the largest PSI of one
    window against the others pooled (columns without values on both sides left out)."""
    usual: dict[str, float] = {}
    if len(history) < 2:
        return usual
    for name, kind in kinds.items():
        for position, window in enumerate(history):
            own, others = clean(window[name]), _pooled([*history[:position], *history[position + 1 :]], name)
            if len(own) and len(others):
                usual[name] = max(usual.get(name, 0.0), psi(others, own, kind))
    return usual


def unusual_columns(
    current: pd.DataFrame, history: Sequence[pd.DataFrame], kinds: Mapping[str, Kind], settings: DriftSettings
) -> list[UnusualDrift]:
    """The columns (not expected to drift) unusually far from the history windows, the furthest
    above their usual variation first; none with fewer than two history windows."""
    if len(history) < 2:
        return []
    usual = usual_psi(history, kinds)
    found = []
    for name, kind in kinds.items():
        now, past = clean(current[name]), _pooled(history, name)
        if name in settings.expected or name not in usual or not len(now) or not len(past):
            continue
        value = psi(past, now, kind)
        if value >= settings.unusual_psi and value >= settings.unusual_factor * usual[name]:
            found.append(UnusualDrift(name, value, usual[name], len(history)))
    return sorted(found, key=lambda u: u.psi / max(u.usual, 1e-12), reverse=True)
