"""Tables written by either engine: one Parquet file, or a folder of parts read back in order."""

from __future__ import annotations

from pathlib import Path

import dask
import pandas as pd
import pytest

from lifecycle.config import EngineSettings
from lifecycle.errors import LifecycleError
from lifecycle.partitions import partitions_of, write_table
from lifecycle.storage import read_parquet


def test_the_pandas_engine_writes_one_file(raw_tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    write_table(raw_tables["planes"], tmp_path / "planes.parquet", EngineSettings())
    assert (tmp_path / "planes.parquet").is_file()
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "planes.parquet"), raw_tables["planes"])


def test_the_dask_engine_writes_parts_read_back_in_order(
    raw_tables: dict[str, pd.DataFrame], dask_engine: EngineSettings, tmp_path: Path
) -> None:
    flights = raw_tables["flights"]
    target = tmp_path / "flights.parquet"
    write_table(flights, target, dask_engine)
    names = sorted(p.name for p in target.iterdir())
    assert names == [f"part.{n:05d}.parquet" for n in range(12)]  # past 10: numbers sort as they count
    pd.testing.assert_frame_equal(read_parquet(target), flights, check_exact=True)
    parts = dask.compute(*partitions_of(target))
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), flights, check_exact=True)
    # rewriting swaps the whole folder: no part of the old one survives
    write_table(flights.iloc[:700], target, dask_engine)
    assert len(list(target.iterdir())) == 2


def test_a_missing_input_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match="input file not found: .*absent.parquet"):
        partitions_of(tmp_path / "absent.parquet")


def test_a_text_column_empty_in_one_part_reads_back_as_the_pandas_engine_s(
    raw_tables: dict[str, pd.DataFrame], dask_engine: EngineSettings, tmp_path: Path
) -> None:
    flights = raw_tables["flights"].astype({"tailnum": object})  # as a JSON source may give it
    flights.loc[: dask_engine.partition_rows - 1, "tailnum"] = None  # the whole first part
    write_table(flights, tmp_path / "parts.parquet", dask_engine)
    write_table(flights, tmp_path / "file.parquet", EngineSettings())
    expected = read_parquet(tmp_path / "file.parquet")
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "parts.parquet"), expected, check_exact=True)
