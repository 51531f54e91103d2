"""collect under the dask engine for a local Parquet source: the file copied into parts batch
by batch gives the parts and the summary of collect's pandas path (read whole, filtered,
sampled, written by `write_table`), on real flights written as other tools write Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle.config import CsvSource, EngineSettings, KnownBefore, ParquetSource
from lifecycle.errors import LifecycleError
from lifecycle.partitions import write_table
from lifecycle.sampling import sample_rows
from lifecycle.sources.base import known_rows, require_rows
from lifecycle.sources.registry import read_source
from lifecycle.sources.streamed import collect_parts, streams
from lifecycle.sources.summary import summarize_table

PARTS = EngineSettings(name="dask", partition_rows=500)


@pytest.fixture(scope="module")
def source_file(raw_tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real flights sample as Spark or Arrow write it: integers and booleans that may be
    missing (pandas reads them as float64 and object only because some value is), missing
    only in the last rows, so that every earlier batch alone would read as int64 and bool;
    and a text column missing in every row of the first batches."""
    flights = raw_tables["flights"].copy()
    late = np.arange(len(flights)) >= len(flights) - 300
    flights["dep_time"] = flights["dep_time"].fillna(0).where(~late)
    flights["delayed"] = (flights["arr_delay"].fillna(0) > 15).astype(object).where(~late)
    flights["tailnum"] = flights["tailnum"].where(np.arange(len(flights)) >= 1200)
    table = pa.Table.from_pandas(flights, preserve_index=False)
    table = table.set_column(
        table.schema.get_field_index("dep_time"), "dep_time", table.column("dep_time").cast(pa.int64())
    )
    path = tmp_path_factory.mktemp("source") / "flights.parquet"
    pq.write_table(table, path, row_group_size=1700)
    assert table.schema.field("delayed").type == pa.bool_()
    return path


def collected_both_ways(source: ParquetSource, folder: Path) -> tuple[Path, Path, dict, dict]:
    """(the streamed parts, the pandas path's parts, their two summaries)."""
    streamed, whole = folder / "streamed.parquet", folder / "whole.parquet"
    summary = collect_parts(source, "flights", 13, streamed, PARTS)
    frame = known_rows(require_rows(read_source(source), "flights", source), source.known_before, "flights")
    frame = sample_rows(frame, source.sample_rows, 13)
    write_table(frame, whole, PARTS)
    return streamed, whole, summary, summarize_table(frame)


@pytest.mark.parametrize(
    ("known", "rows"),
    [(None, None), (KnownBefore(column="time_hour", date="2013-08-01"), 1234)],
    ids=["every-row", "known-before-and-sampled"],
)
def test_the_parts_and_summary_are_the_pandas_path_s(
    source_file: Path, tmp_path: Path, known: KnownBefore | None, rows: int | None
) -> None:
    source = ParquetSource(kind="parquet", path=str(source_file), known_before=known, sample_rows=rows)
    streamed, whole, summary, expected = collected_both_ways(source, tmp_path)
    assert sorted(p.name for p in streamed.iterdir()) == sorted(p.name for p in whole.iterdir())
    read = pd.read_parquet(streamed)
    pd.testing.assert_frame_equal(read, pd.read_parquet(whole), check_exact=True)
    assert summary == expected
    dtypes = {column["column"]: column["dtype"] for column in summary["profile"]}
    assert (dtypes["dep_time"], dtypes["delayed"]) == ("float64", "object")  # as the whole file reads
    for part in sorted(streamed.iterdir()):  # one schema: the folder reads whole with any reader
        assert pq.read_schema(part).remove_metadata() == pq.read_schema(next(whole.iterdir())).remove_metadata()


def test_a_known_before_date_before_every_row_names_the_first(source_file: Path, tmp_path: Path) -> None:
    known = KnownBefore(column="time_hour", date="2012-01-01")
    source = ParquetSource(kind="parquet", path=str(source_file), known_before=known)
    with pytest.raises(LifecycleError, match=r"no row is before 2012-01-01 \(the first is 2013-01-01"):
        collect_parts(source, "flights", 13, tmp_path / "out.parquet", PARTS)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    ("content", "known", "message"),
    [
        ("empty", None, r"source 'flights' \(.*\) has no rows"),
        ("flights", KnownBefore(column="departure", date="2013-07-01"), "'departure' is not a column"),
        ("not parquet", None, "is not valid Parquet"),
        ("absent", None, "source file not found"),
    ],
)
def test_a_bad_file_stops_collect_with_its_message(
    source_file: Path, tmp_path: Path, content: str, known: KnownBefore | None, message: str
) -> None:
    path = tmp_path / "source.parquet"
    if content == "empty":
        pq.write_table(pq.read_table(source_file).slice(0, 0), path)
    elif content == "flights":
        path = source_file
    elif content == "not parquet":
        path.write_text("dep_time,arr_time\n1,2\n", encoding="utf-8")
    source = ParquetSource(kind="parquet", path=str(path), known_before=known)
    with pytest.raises(LifecycleError, match=message):
        collect_parts(source, "flights", 13, tmp_path / "out.parquet", PARTS)
    assert not (tmp_path / "out.parquet").exists()


def test_only_a_local_parquet_file_is_streamed(source_file: Path) -> None:
    assert streams(ParquetSource(kind="parquet", path=str(source_file)))
    assert not streams(ParquetSource(kind="parquet", path="https://example.org/flights.parquet"))
    assert not streams(CsvSource(kind="csv", path=str(source_file)))


def test_text_dates_in_another_format_in_a_later_batch_are_refused_as_the_pandas_path_refuses(
    raw_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """pandas reads a column of text dates with the format of its first value; the known
    rows come from the column read whole, so a later batch's own format does not pass."""
    flights = raw_tables["flights"].head(2000).copy()
    times = pd.to_datetime(flights["time_hour"], utc=True)
    flights["time_hour"] = times.dt.strftime("%Y-%m-%d %H:%M:%S").where(
        np.arange(len(flights)) < 1500, times.dt.strftime("%d/%m/%Y %H:%M")
    )
    path = tmp_path / "flights.parquet"
    pq.write_table(pa.Table.from_pandas(flights, preserve_index=False), path, row_group_size=500)
    known = KnownBefore(column="time_hour", date="2013-07-01")
    source = ParquetSource(kind="parquet", path=str(path), known_before=known)
    with pytest.raises(LifecycleError, match="500 value.s. are not dates or date-times") as whole:
        known_rows(read_source(source), source.known_before, "flights")
    with pytest.raises(LifecycleError) as streamed:
        collect_parts(source, "flights", 13, tmp_path / "out.parquet", PARTS)
    assert str(streamed.value) == str(whole.value)
