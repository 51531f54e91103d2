"""The dask engine's join of the sources: the pandas engine's table row for row, value for
value, on real flights cut into many partitions; past means strictly past-only across
their boundaries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from distributed import get_client

from lifecycle.config import ContextCount, ContextPastMean, EngineSettings, Params
from lifecycle.errors import LifecycleError
from lifecycle.partitions import write_table
from lifecycle.preprocessing.partitioned import join_partitioned, window_partitions
from lifecycle.preprocessing.steps import join_sources
from lifecycle.sources.registry import read_source
from lifecycle.storage import part_files


def joined_both_ways(
    tables: dict[str, pd.DataFrame], params: Params, engine: EngineSettings, folder: Path
) -> tuple[tuple[pd.DataFrame, dict], tuple[pd.DataFrame, dict]]:
    """(pandas engine, dask engine) results of joining `tables`, the base written as parts."""
    settings = params.preprocess
    base = folder / "flights.parquet"
    write_table(tables[settings.base], base, engine)
    others = {name: frame for name, frame in tables.items() if name != settings.base}
    return join_sources(tables, settings), join_partitioned(part_files(base), others, settings, folder / "scratch")


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
    assert list((tmp_path / "scratch").iterdir()) == []  # the steps' parts are gone, and the killed run's
    # nothing is left in the workers' memory once the join returns (the dimension tables, the totals)
    held = get_client().run(lambda dask_worker: len(dask_worker.data))
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
        join_partitioned(part_files(tmp_path / "flights.parquet"), others, settings, tmp_path / "scratch")
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
        join_partitioned(part_files(tmp_path / "flights.parquet"), others, settings, tmp_path / "scratch")
    assert list((tmp_path / "scratch").iterdir()) == []
