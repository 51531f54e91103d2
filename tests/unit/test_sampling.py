"""Seeded samples: the same rows from a frame in memory and from a folder of parts read
part by part, and the rows `DataFrame.sample` took before the sample had its own module."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lifecycle.config import EngineSettings
from lifecycle.partitions import write_table
from lifecycle.sampling import read_sample, sample_rows
from tests.support.samples import SAMPLE_FLIGHTS

PARTS = EngineSettings(name="dask", partition_rows=500)  # writing parts needs no cluster


def test_a_sample_is_the_rows_dataframe_sample_takes_in_their_order(raw_tables: dict[str, pd.DataFrame]) -> None:
    flights = raw_tables["flights"]
    expected = flights.sample(n=700, random_state=5).sort_index().reset_index(drop=True)
    pd.testing.assert_frame_equal(sample_rows(flights, 700, seed=5), expected, check_exact=True)


@pytest.mark.parametrize("engine", [EngineSettings(), PARTS], ids=["file", "parts"])
@pytest.mark.parametrize("rows", [1, 700, SAMPLE_FLIGHTS - 1])
def test_a_table_read_as_a_sample_holds_the_rows_the_frame_s_sample_holds(
    raw_tables: dict[str, pd.DataFrame], tmp_path: Path, engine: EngineSettings, rows: int
) -> None:
    flights = raw_tables["flights"]
    write_table(flights, tmp_path / "flights.parquet", engine)
    sample = read_sample(tmp_path / "flights.parquet", rows, seed=3)
    pd.testing.assert_frame_equal(sample, sample_rows(flights, rows, seed=3), check_exact=True)


def test_another_seed_takes_other_rows(raw_tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    write_table(raw_tables["flights"], tmp_path / "flights.parquet", PARTS)
    first, other = (read_sample(tmp_path / "flights.parquet", 700, seed=seed) for seed in (3, 4))
    assert len(first) == len(other) == 700 and not first.equals(other)


@pytest.mark.parametrize("rows", [None, SAMPLE_FLIGHTS, 10**9], ids=["null", "every-row", "more-than-every-row"])
def test_no_sample_or_one_as_large_as_the_table_reads_it_whole(
    raw_tables: dict[str, pd.DataFrame], tmp_path: Path, rows: int | None
) -> None:
    flights = raw_tables["flights"]
    assert len(flights) == SAMPLE_FLIGHTS
    write_table(flights, tmp_path / "flights.parquet", PARTS)
    pd.testing.assert_frame_equal(read_sample(tmp_path / "flights.parquet", rows, seed=3), flights, check_exact=True)
