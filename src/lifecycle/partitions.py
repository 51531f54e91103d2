"""Parquet folders: how the dask engine writes a table as parts and reads one back.

A folder holds `part.00000.parquet`, `part.00001.parquet`, ... in row order; the
zero-padded numbers sort as they count, so `pandas.read_parquet(folder)` (what the later
stages call through `lifecycle.storage.read_parquet`) reads the rows back in order. The
folder is written whole into a temporary folder and renamed into place (writes are
atomic); on a multi-machine cluster the path must be on storage every worker shares.

Each part is written and read by pandas itself, so a column keeps the dtype the pandas
engine gives it (Dask's own readers would turn text into its Arrow string dtype).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
from dask.delayed import Delayed, delayed

from lifecycle.config import EngineSettings
from lifecycle.storage import atomic_directory, part_files, write_parquet

# Dask would otherwise convert text columns to its own string dtype when it partitions a frame.
PANDAS_DTYPES = {"dataframe.convert-string": False}


def part_name(number: int) -> str:
    """The file name of part `number`."""
    return f"part.{number:05d}.parquet"


def write_partitioned(frame: dd.DataFrame, target: Path) -> None:
    """Write every partition of `frame` as one Parquet part of the folder `target`."""
    with dask.config.set(PANDAS_DTYPES), atomic_directory(target) as temp:
        frame.to_parquet(temp, write_index=False, name_function=part_name, write_metadata_file=False)


def write_table(frame: pd.DataFrame, target: Path, engine: EngineSettings) -> None:
    """A stage's table held by this process: one Parquet file (pandas engine), or a folder
    of parts of `engine.partition_rows` rows each (dask engine). This process writes the
    parts itself: sending the rows to the workers first would put the whole table in their
    memory at once."""
    if engine.name == "pandas":
        write_parquet(frame, target)
        return
    # every part with the whole table's column types: a text column empty in one part would
    # otherwise be written as Arrow's null type there, and the folder could not be read whole
    write_parts([frame], pa.Schema.from_pandas(frame, preserve_index=False), target, engine.partition_rows)


def write_parts(frames: Iterable[pd.DataFrame], schema: pa.Schema, target: Path, size: int) -> None:
    """Write the rows of `frames`, in order, as the folder `target` of parts of `size` rows
    (the last one shorter; a table without rows is one empty part), each with `schema`.
    Holds at most one part and one frame at a time, so `frames` may stream a table."""
    with atomic_directory(target) as temp:
        written, pending, held = 0, [], 0
        for frame in frames:
            pending.append(frame)
            held += len(frame)
            while held >= size:
                rows = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
                rows.iloc[:size].to_parquet(temp / part_name(written), index=False, schema=schema)
                written, pending, held = written + 1, [rows.iloc[size:]], held - size
        if held or not written:
            pd.concat(pending, ignore_index=True).to_parquet(temp / part_name(written), index=False, schema=schema)


def partitions_of(path: Path) -> list[Delayed]:
    """The parts of a Parquet folder (`part_files`), each read by pandas on a worker."""
    return [delayed(pd.read_parquet)(file) for file in part_files(path)]
