"""Sentinels (`preprocess.na_values`) read as missing, on the real planes table written as a
source that spells a missing value "unknown" (year 70 times, speed 3,299 times)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from lifecycle.preprocessing.missing import mark_missing, sentinel_mask, sentinels_for


@pytest.fixture(scope="module")
def spelled_out(raw_tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The planes table, and the same table after a CSV round trip with "unknown" for missing."""
    planes = raw_tables["planes"]
    text = planes.to_csv(index=False, na_rep="unknown")
    return planes, pd.read_csv(io.StringIO(text), keep_default_na=True)


def test_a_sentinel_turns_numbers_into_text(spelled_out: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Why the param exists: pandas reads the two columns as text."""
    _, read = spelled_out
    assert not pd.api.types.is_numeric_dtype(read["year"]) and not pd.api.types.is_numeric_dtype(read["speed"])


def test_marked_table_equals_the_source_table(spelled_out: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    planes, read = spelled_out
    marked, counts = mark_missing(read, ["unknown"])
    assert counts == {"year": int(planes["year"].isna().sum()), "speed": int(planes["speed"].isna().sum())}
    assert counts["speed"] == 3299
    pd.testing.assert_series_equal(marked["year"], planes["year"].reset_index(drop=True).astype("float64"))
    pd.testing.assert_series_equal(marked["speed"], planes["speed"].reset_index(drop=True).astype("float64"))
    assert marked["tailnum"].equals(read["tailnum"])  # untouched


def test_per_column_sentinels_touch_only_their_column(spelled_out: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, read = spelled_out
    marked, counts = mark_missing(read, {"year": ["unknown"]})
    assert set(counts) == {"year"} and pd.api.types.is_numeric_dtype(marked["year"])
    assert (marked["speed"] == "unknown").sum() == 3299


def test_numeric_sentinels_match_numbers_and_text(raw_tables: dict[str, pd.DataFrame]) -> None:
    """-999 written by a source as a number, or read from text, is the same sentinel."""
    seats = raw_tables["planes"]["seats"]
    common = int(seats.mode().iloc[0])
    expected = int((seats == common).sum())
    assert sentinel_mask(seats, [common]).sum() == expected
    assert sentinel_mask(seats.astype(str), [str(common)]).sum() == expected
    assert sentinel_mask(seats.astype(object), [f"{common}.0"]).sum() == expected
    assert sentinel_mask(seats, []).sum() == 0


def test_sentinels_for() -> None:
    assert sentinels_for(["?", -999], "any") == ["?", -999]
    assert sentinels_for({"year": ["unknown"]}, "year") == ["unknown"]
    assert sentinels_for({"year": ["unknown"]}, "speed") == []
