"""Batch scoring with the packaged model alone: CSV or Parquet in, the same format out.

The file is read, scored and written in chunks of `chunk_rows`, so a file larger than
memory works; the output appears atomically (temp file, then rename) once every chunk is
scored. Scoring is `Bundle.predict`, the same function the HTTP service falls back to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lifecycle.errors import LifecycleError
from lifecycle.packaging.bundle import Bundle
from lifecycle.storage import atomic_path

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
CHUNK_ROWS = 50_000


def _format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise LifecycleError(f"{path}: unsupported file type; use one of {sorted(FORMATS)}") from None


def _raw_chunks(path: Path, kind: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if kind == "csv":
        with pd.read_csv(path, chunksize=chunk_rows) as reader:
            yield from reader
    else:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()


def read_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The rows to score, `chunk_rows` at a time; a missing, empty or unreadable file is named."""
    kind = _format(path)
    if not path.is_file():
        raise LifecycleError(f"input file not found: {path}")
    if chunk_rows < 1:
        raise LifecycleError(f"chunk size must be at least 1 row, got {chunk_rows}")
    rows = 0
    try:
        for chunk in _raw_chunks(path, kind, chunk_rows):
            if chunk.empty:
                continue
            rows += len(chunk)
            yield chunk
    except pd.errors.EmptyDataError:
        raise LifecycleError(f"input file {path} is empty") from None
    except (ValueError, UnicodeDecodeError, OSError, pa.ArrowException) as error:
        raise LifecycleError(f"cannot read {path}: {error}") from None
    if rows == 0:
        raise LifecycleError(f"input file {path} has no rows")


def read_rows(path: Path) -> pd.DataFrame:
    """Read all the rows to score at once (small files), with the same errors as read_chunks."""
    return pd.concat(list(read_chunks(path)), ignore_index=True)


def score_file(bundle: Bundle, source: Path, target: Path, chunk_rows: int = CHUNK_ROWS) -> int:
    """Predict every row of `source`; write the input plus prediction columns to `target`.

    The prediction columns are the task's (see `Bundle.predict`): `prediction` and `error`;
    `probability` for classification; `probability_<class>` per class for multiclass.
    Returns the number of rows scored.
    """
    output_kind = _format(target)
    rows = failed = 0
    with atomic_path(target) as temp:
        writer: pq.ParquetWriter | None = None
        try:
            for chunk in read_chunks(source, chunk_rows):
                predictions = bundle.predict(chunk)
                scored = pd.concat([chunk.reset_index(drop=True), predictions], axis=1)
                scored["error"] = scored["error"].astype("string")  # one type even when a chunk has no errors
                if output_kind == "csv":
                    scored.to_csv(temp, mode="w" if rows == 0 else "a", header=rows == 0, index=False)
                else:
                    table = pa.Table.from_pandas(scored, schema=writer.schema if writer else None, preserve_index=False)
                    writer = writer or pq.ParquetWriter(temp, table.schema)
                    writer.write_table(table)
                rows += len(chunk)
                failed += int(predictions["error"].notna().sum())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise LifecycleError(
                f"cannot write {target}: a chunk's column types differ from the first's ({error})"
            ) from None
        finally:
            if writer is not None:
                writer.close()
    logger.info("scored %d rows (%d rejected by the schema) -> %s", rows, failed, target)
    return rows
