"""collect under the dask engine for a local Parquet source: the file copied into parts
batch by batch, never held whole.

pandas reads a Parquet file whole and gives each column one type from all its rows: an
integer column missing a value anywhere becomes float64, a boolean one object. A batch
read alone would keep int64 where it has no missing value, so a first pass over the
file counts each column's missing values (with one value of each column to type the
parts by; the rows `known_before` keeps come from its column read whole); the second converts every batch to the whole
table's types, keeps the known rows and the sampled ones, and writes parts of
`engine.partition_rows` rows. The parts read back as the pandas reader's table written by
`write_table`, and the summary is `summarize_table`'s, while this process holds a batch
and a part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lifecycle.config import EngineSettings, ParquetSource
from lifecycle.errors import LifecycleError
from lifecycle.partitions import write_parts
from lifecycle.sampling import sample_positions
from lifecycle.sources.base import known_mask, require_known_column, require_shape
from lifecycle.sources.http import is_url
from lifecycle.sources.summary import Summary, summary_of

logger = logging.getLogger(__name__)


def streams(settings: object) -> bool:
    """Whether collect copies this source batch by batch: a local Parquet file (other kinds'
    readers return the whole table; a URL is downloaded whole anyway)."""
    return isinstance(settings, ParquetSource) and not is_url(settings.path)


def collect_parts(settings: ParquetSource, name: str, seed: int, target: Path, engine: EngineSettings) -> Summary:
    """Write the source's known rows (its `sample_rows` of them, drawn with `seed`) as the
    folder of parts `target`, as collect's pandas path would; returns their summary."""
    file = _open(settings.path)
    schema = file.schema_arrow
    columns = _data_columns(schema)
    require_shape(file.metadata.num_rows, len(columns), name, settings)
    if settings.known_before is not None:
        require_known_column(pd.Index(columns), settings.known_before, name)
    size = engine.partition_rows
    seen = _first_pass(file, settings, name, size)
    nulls_where_missing = _one_row(schema, seen, lambda column: not seen.nulls[column])
    values = _one_row(schema, seen, lambda column: column in seen.values)
    dtypes = nulls_where_missing.dtypes
    # the conversions a missing value decides (integers to float64, booleans to object);
    # a category's dtype names its categories, and every batch keeps its own
    casts = {
        column: dtype
        for column, dtype in dtypes.items()
        if dtype != values[column].dtype and not isinstance(dtype, pd.CategoricalDtype)
    }
    part_schema = pa.Schema.from_pandas(values.astype(casts), preserve_index=False)
    positions = None
    if settings.sample_rows is not None and settings.sample_rows < seen.rows:
        positions = sample_positions(seen.rows, settings.sample_rows, seed)
    written = _Written(nulls=pd.Series(0, index=dtypes.index))
    frames = _kept_batches(file, size, casts, seen.known, positions, written)
    write_parts(frames, part_schema, target, size)
    logger.info("%s: %s copied batch by batch (%d row groups)", name, settings.path, file.metadata.num_row_groups)
    return summary_of(written.rows, dtypes, written.nulls)


@dataclass
class _Pass:
    """What the first pass learns of the file."""

    nulls: dict[str, int]  # missing values per column
    values: dict[str, pa.Array]  # one real value of each column that has one
    known: np.ndarray  # per row of the file, whether known_before keeps it

    @property
    def rows(self) -> int:
        return int(self.known.sum())


@dataclass
class _Written:
    """Counts of the rows written, for the summary."""

    nulls: pd.Series
    rows: int = 0


def _open(path_text: str) -> pq.ParquetFile:
    path = Path(path_text)
    if not path.is_file():
        raise LifecycleError(f"source file not found: {path}")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise LifecycleError(f"source file {path} is not valid Parquet: {error}") from None


def _data_columns(schema: pa.Schema) -> list[str]:
    """The columns pandas reads as columns: all but a pandas index stored as a column."""
    stored_index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    return [name for name in schema.names if name not in stored_index]


def _batches(file: pq.ParquetFile, size: int) -> Iterator[pa.Table]:
    for batch in file.iter_batches(batch_size=size):
        yield pa.Table.from_batches([batch], schema=file.schema_arrow)


def _first_pass(file: pq.ParquetFile, settings: ParquetSource, name: str, size: int) -> _Pass:
    known = _known_rows(file, settings, name)
    seen = _Pass(nulls=dict.fromkeys(file.schema_arrow.names, 0), values={}, known=known)
    for table in _batches(file, size):
        for column in table.column_names:
            values = table.column(column)
            seen.nulls[column] += values.null_count
            if column not in seen.values and values.null_count < len(values):
                seen.values[column] = values.drop_null().slice(0, 1).combine_chunks()
    return seen


def _known_rows(file: pq.ParquetFile, settings: ParquetSource, name: str) -> np.ndarray:
    """Which rows `known_before` keeps, from its column read whole (one column: text dates
    are parsed as the pandas path parses them, with one format for the column)."""
    known = settings.known_before
    if known is None:
        return np.ones(file.metadata.num_rows, dtype=bool)
    return known_mask(file.read(columns=[known.column]).column(0).to_pandas(), known, name)


def _one_row(schema: pa.Schema, seen: _Pass, real: Callable[[str], bool]) -> pd.DataFrame:
    """One row as pandas reads it: a real value in the columns `real` picks, else missing."""
    arrays = [seen.values[name] if real(name) else pa.nulls(1, schema.field(name).type) for name in schema.names]
    return pa.Table.from_arrays(arrays, schema=schema).to_pandas()


def _kept_batches(
    file: pq.ParquetFile,
    size: int,
    casts: dict[str, object],
    known: np.ndarray,
    positions: np.ndarray | None,
    written: _Written,
) -> Iterator[pd.DataFrame]:
    """Each batch in the whole table's dtypes, cut to its known (and sampled) rows."""
    start, offset = 0, 0  # rows of the file, and known rows, before this batch
    for table in _batches(file, size):
        known_now = known[start : start + table.num_rows]
        start += table.num_rows
        frame = table.to_pandas().astype(casts).loc[known_now].reset_index(drop=True)
        if positions is not None:
            inside = positions[(positions >= offset) & (positions < offset + len(frame))] - offset
            offset += len(frame)
            frame = frame.take(inside).reset_index(drop=True)
        written.rows += len(frame)
        written.nulls += frame.isna().sum()
        yield frame
