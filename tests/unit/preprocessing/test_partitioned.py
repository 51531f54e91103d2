"""The dask engine's join of the sources: the pandas engine's table row for row, value for
value, on real flights cut into many partitions; past means strictly past-only across
their boundaries. Its parts read a column at a time, and a split written from them, are
the pandas engine's too."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import get_client

from lifecycle.config import ContextCount, ContextPastMean, EngineSettings, Params
from lifecycle.errors import LifecycleError
from lifecycle.partitions import write_table
from lifecycle.preprocessing.part_columns import PartColumns
from lifecycle.preprocessing.partitioned import join_partitioned, scratch_folder, window_partitions, write_rows
from lifecycle.preprocessing.steps import Prepared, describe, join_sources, rows_with_target, split_rows
from lifecycle.preprocessing.tables import coerce_dtypes
from lifecycle.sources.registry import read_source
from lifecycle.storage import part_files


def keys_held() -> dict[str, int]:
    """How many keys each worker holds once released ones have gone. A future is released
    when nothing refers to it (an earlier test's error traceback can, until the garbage
    collector runs), and its worker drops the key a moment later (waited for up to 10 s)."""
    gc.collect()
    deadline = time.monotonic() + 10
    while True:
        held = get_client().run(lambda dask_worker: len(dask_worker.data))
        if set(held.values()) == {0} or time.monotonic() > deadline:
            return held
        time.sleep(0.1)


def joined_parts(
    tables: dict[str, pd.DataFrame], params: Params, engine: EngineSettings, folder: Path, scratch: Path
) -> tuple[PartColumns, dict]:
    """The dask engine's join of `tables` (the base written as parts in `folder`), in `scratch`."""
    settings = params.preprocess
    base = folder / "flights.parquet"
    write_table(tables[settings.base], base, engine)
    others = {name: frame for name, frame in tables.items() if name != settings.base}
    return join_partitioned(part_files(base), others, settings, scratch)


def joined_both_ways(
    tables: dict[str, pd.DataFrame], params: Params, engine: EngineSettings, folder: Path
) -> tuple[tuple[pd.DataFrame, dict], tuple[pd.DataFrame, dict]]:
    """(pandas engine, dask engine) results of joining `tables`, the dask engine's read whole
    a column at a time; its scratch folder removed once read."""
    with scratch_folder(folder / "scratch") as scratch:
        joined, counts = joined_parts(tables, params, engine, folder, scratch)
        whole = pd.DataFrame({column: joined[column] for column in joined.columns})
        # the schema the split's parts are written with: the whole table's
        assert joined.schema().equals(pa.Schema.from_pandas(whole, preserve_index=False), check_metadata=True)
    return join_sources(tables, params.preprocess), (whole, counts)


@pytest.fixture(scope="module")
def first_days(raw_tables: dict[str, pd.DataFrame], params: Params) -> dict[str, pd.DataFrame]:
    """Every flight of the first days of 2013, in source order: dense windows, so nearly every
    row's past means average events of the partitions before its own."""
    flights = read_source(params.sources["flights"]).iloc[:4000].reset_index(drop=True)
    return {**raw_tables, "flights": flights}


@pytest.mark.parametrize(("tables", "known_share"), [("raw_tables", 0.4), ("first_days", 0.9)])
def test_the_joined_table_equals_the_pandas_engine(
    tables: str,
    known_share: float,
    request: pytest.FixtureRequest,
    params: Params,
    dask_engine: EngineSettings,
    tmp_path: Path,
) -> None:
    raw = request.getfixturevalue(tables)
    killed = tmp_path / "scratch" / ".preprocess-killed.tmp" / "joined"  # a run killed outright left it
    killed.mkdir(parents=True)
    (expected, expected_counts), (joined, counts) = joined_both_ways(raw, params, dask_engine, tmp_path)
    assert len(list((tmp_path / "flights.parquet").iterdir())) == -(-len(raw["flights"]) // 500)
    pd.testing.assert_frame_equal(joined, expected, check_exact=True)
    assert counts == expected_counts
    assert list((tmp_path / "scratch").iterdir()) == []  # the steps' parts are gone once read, and the killed run's
    # nothing is left in the workers' memory once the join returns (the dimension tables, the totals)
    held = keys_held()
    assert len(held) == 2 and set(held.values()) == {0}
    # the past means are numbers on most rows, so the comparison compares something
    assert joined["origin_dep_delay_prev_2h"].notna().mean() > known_share


def test_duplicates_in_other_partitions_are_dropped_as_pandas_does(
    raw_tables: dict[str, pd.DataFrame], params: Params, dask_engine: EngineSettings, tmp_path: Path
) -> None:
    flights = raw_tables["flights"]
    repeated = pd.concat([flights.iloc[:1500], flights.iloc[200:700]], ignore_index=True)
    tables = {**raw_tables, "flights": repeated}
    (expected, expected_counts), (joined, counts) = joined_both_ways(tables, params, dask_engine, tmp_path)
    assert counts["exact_duplicates"]["flights"] == expected_counts["exact_duplicates"]["flights"] == 500
    pd.testing.assert_frame_equal(joined, expected, check_exact=True)


def test_a_partition_reads_only_partitions_with_events_inside_its_window(params: Params) -> None:
    spec = next(c for c in params.preprocess.context if isinstance(c, ContextPastMean))
    lead, window = pd.Timedelta(minutes=spec.lead_minutes), pd.Timedelta(minutes=spec.window_minutes)
    start = pd.Timestamp("2013-06-01 12:00", tz="UTC")
    end = start + pd.Timedelta(hours=3)
    nat = pd.NaT
    ranges = [
        (start, end, start, end),  # the partition itself
        (nat, nat, start - lead - window - pd.Timedelta(hours=2), start - lead - window - pd.Timedelta(minutes=1)),
        (nat, nat, start - lead - window, start - lead - window),  # an event at the window's first instant
        (nat, nat, end - lead, end + pd.Timedelta(hours=5)),  # events from the window's end on: never seen
        (nat, nat, nat, nat),  # no known event time
    ]
    assert window_partitions(ranges, 0, spec) == [2]


def test_settings_that_need_a_whole_column_are_refused(
    raw_tables: dict[str, pd.DataFrame], params: Params, dask_engine: EngineSettings, tmp_path: Path
) -> None:
    settings = params.preprocess.model_copy(update={"na_values": ["?"]})
    with pytest.raises(LifecycleError, match="preprocess.na_values is not supported by engine dask"):
        join_partitioned([], {}, settings, tmp_path)


def test_a_bad_value_on_a_worker_is_the_pandas_engine_s_one_message(
    raw_tables: dict[str, pd.DataFrame], params: Params, dask_engine: EngineSettings, tmp_path: Path
) -> None:
    settings = params.preprocess.model_copy(update={"dtypes": {**params.preprocess.dtypes, "carrier": "float"}})
    write_table(raw_tables["flights"], tmp_path / "flights.parquet", dask_engine)
    others = {name: raw_tables[name] for name in ("weather", "planes")}
    with pytest.raises(LifecycleError, match="column 'carrier': .* cannot be read as float, e.g. "):
        with scratch_folder(tmp_path / "scratch") as scratch:
            join_partitioned(part_files(tmp_path / "flights.parquet"), others, settings, scratch)
    assert list((tmp_path / "scratch").iterdir()) == []  # the failed step's parts are gone


def test_a_context_feature_read_by_another_is_refused_before_anything_is_written(
    raw_tables: dict[str, pd.DataFrame], params: Params, dask_engine: EngineSettings, tmp_path: Path
) -> None:
    first = params.preprocess.context[0]
    stacked = ContextCount(name="busy_hours", kind="count", group_by=[first.name])
    settings = params.preprocess.model_copy(update={"context": [first, stacked]})
    write_table(raw_tables["flights"], tmp_path / "flights.parquet", dask_engine)
    others = {name: raw_tables[name] for name in ("weather", "planes")}
    with pytest.raises(LifecycleError, match=f"context 'busy_hours' reads the context feature.*{first.name}"):
        with scratch_folder(tmp_path / "scratch") as scratch:
            join_partitioned(part_files(tmp_path / "flights.parquet"), others, settings, scratch)
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_column_read_from_the_parts_takes_the_dtype_its_role_implies(
    raw_tables: dict[str, pd.DataFrame], params: Params, dask_engine: EngineSettings, tmp_path: Path
) -> None:
    expected, _ = join_sources(raw_tables, params.preprocess)
    dtypes = {"flight": "string", "time_hour": "datetime", "dep_delay": "float"}  # int code, ISO text, Int64
    with scratch_folder(tmp_path / "scratch") as scratch:
        joined, _ = joined_parts(raw_tables, params, dask_engine, tmp_path, scratch)
        coerced = joined.coerced(dtypes)
        for column, kind in dtypes.items():
            pd.testing.assert_series_equal(coerced[column], coerce_dtypes(expected, {column: kind})[column])
        assert str(joined["flight"].dtype) != str(coerced["flight"].dtype) == "string"
        assert len(coerced) == len(expected) and list(coerced.columns) == list(expected.columns)
        with pytest.raises(KeyError):
            joined["no such column"]


def test_each_split_written_from_the_parts_is_the_pandas_engine_s(
    raw_tables: dict[str, pd.DataFrame],
    prepared: Prepared,
    params: Params,
    dask_engine: EngineSettings,
    tmp_path: Path,
) -> None:
    """The time split of the sample (flights in random order, so each output part gathers
    rows from every part of the table), written as parts of 300 rows."""
    split = split_rows(prepared, params.preprocess)
    assert np.any(np.diff(split.rows[0]) < 0)  # out of the table's order
    with scratch_folder(tmp_path / "scratch") as scratch:
        joined, counts = joined_parts(raw_tables, params, dask_engine, tmp_path, scratch)
        parts = describe(joined, counts, params.preprocess).table
        assert isinstance(parts, PartColumns)
        for name, rows, labels in zip(("train", "test"), split.rows, split.labels, strict=True):
            target = tmp_path / f"{name}.parquet"
            write_rows(parts, rows, labels, target, 300, scratch)
            expected = rows_with_target(prepared.table, rows, labels)
            assert len(list(target.iterdir())) == -(-len(rows) // 300)
            pd.testing.assert_frame_equal(pd.read_parquet(target), expected, check_exact=True)
            schemas = {pq.read_schema(file) for file in target.iterdir()}
            assert schemas == {pa.Schema.from_pandas(expected, preserve_index=False)}
    assert set(keys_held().values()) == {0}  # the rows' positions and targets were let go


def test_a_part_whose_column_is_all_missing_reads_as_the_other_parts_type(
    raw_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """A text column with no value in one part is Arrow's null type there (as a join with no
    match in a part writes it); read whole, it takes the other parts' type and values."""
    planes = raw_tables["planes"].iloc[:6][["tailnum", "manufacturer"]].reset_index(drop=True)
    empty = planes.iloc[:3].assign(manufacturer=pd.Series([None] * 3, dtype=object))
    files = [tmp_path / "part.00000.parquet", tmp_path / "part.00001.parquet"]
    empty.to_parquet(files[0], index=False)
    planes.iloc[3:].to_parquet(files[1], index=False)
    assert pq.read_schema(files[0]).field("manufacturer").type == pa.null()
    parts = PartColumns(files)
    read = parts["manufacturer"]
    assert read.isna().sum() == 3 and read.iloc[3:].tolist() == planes["manufacturer"].iloc[3:].tolist()
    assert parts.schema().field("manufacturer").type != pa.null()
    assert parts["tailnum"].tolist() == planes["tailnum"].tolist() and len(parts) == 6
