"""Unusual drift on the real flights sample: temperatures sent in Celsius and distances in
kilometres stand out against the weeks before, while November's weather, which drifts
against January-October every week, does not."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle.config import DriftSettings
from lifecycle.monitoring.drift import Kind, dataset_drift
from lifecycle.monitoring.reference import as_categories
from lifecycle.monitoring.unusual import unusual_columns, usual_psi
from tests.support.samples import Interim

KINDS: dict[str, Kind] = {
    "temp": "numeric",
    "dewp": "numeric",
    "distance": "numeric",
    "carrier": "categorical",
    "month": "numeric",
}
NOVEMBER = pd.Timestamp("2013-11-01", tz="UTC")
SETTINGS = DriftSettings(expected=["month"])


def typed(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns as the monitor compares them (the reference sample's types)."""
    columns = {
        name: as_categories(rows[name]) if kind == "categorical" else rows[name].astype("float64")
        for name, kind in KINDS.items()
    }
    return pd.DataFrame(columns).reset_index(drop=True)


@pytest.fixture(scope="module")
def weeks(interim: Interim) -> list[pd.DataFrame]:
    """The sampled test flights, a frame per week from November 1st."""
    test = interim[1]
    week = (test["time_hour"] - NOVEMBER) // pd.Timedelta(days=7)
    return [test[week == k] for k in range(5)]


def test_the_season_is_not_unusual_and_a_wrong_unit_is(interim: Interim, weeks: list[pd.DataFrame]) -> None:
    history, current = [typed(w) for w in weeks[:4]], weeks[4]
    healthy = dataset_drift(typed(interim[0]), typed(current), KINDS, SETTINGS)
    assert {"temp", "dewp"} <= set(healthy.drifted_columns())  # the season, against training
    assert unusual_columns(typed(current), history, KINDS, SETTINGS) == []

    celsius = unusual_columns(typed(current.assign(temp=(current["temp"] - 32) / 1.8)), history, KINDS, SETTINGS)
    assert [u.column for u in celsius] == ["temp"]
    assert celsius[0].psi >= SETTINGS.unusual_factor * celsius[0].usual and celsius[0].windows == 4
    kilometres = current.assign(distance=(current["distance"] * 1.609344).round())
    assert [u.column for u in unusual_columns(typed(kilometres), history, KINDS, SETTINGS)] == ["distance"]
    # a factor above the fault's own ratio: nothing is unusual
    strict = SETTINGS.model_copy(update={"unusual_factor": celsius[0].psi / celsius[0].usual + 1})
    assert unusual_columns(typed(current.assign(temp=(current["temp"] - 32) / 1.8)), history, KINDS, strict) == []


def test_usual_variation_is_each_window_against_the_others(weeks: list[pd.DataFrame]) -> None:
    history = [typed(w) for w in weeks[:3]]
    usual = usual_psi(history, KINDS)
    assert set(usual) == set(KINDS) and all(value >= 0 for value in usual.values())
    assert usual_psi(history[:1], KINDS) == {}  # one window has no other to differ from
    assert unusual_columns(typed(weeks[4]), history[:1], KINDS, SETTINGS) == []
