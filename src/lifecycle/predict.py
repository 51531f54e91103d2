"""Batch scoring with the packaged model alone: CSV or Parquet in, the same format out."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from lifecycle.bundle import Bundle
from lifecycle.errors import LifecycleError
from lifecycle.storage import write_csv, write_parquet

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise LifecycleError(f"{path}: unsupported file type; use one of {sorted(FORMATS)}") from None


def read_rows(path: Path) -> pd.DataFrame:
    """Read the rows to score, with a clear error for a missing, empty or unreadable file."""
    kind = _format(path)
    if not path.is_file():
        raise LifecycleError(f"input file not found: {path}")
    try:
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise LifecycleError(f"input file {path} is empty") from None
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise LifecycleError(f"cannot read {path}: {error}") from None
    if frame.empty:
        raise LifecycleError(f"input file {path} has no rows")
    return frame


def score_file(bundle: Bundle, source: Path, target: Path) -> pd.DataFrame:
    """Predict every row of `source`; write the input plus prediction columns to `target`."""
    output_kind = _format(target)
    rows = read_rows(source)
    predictions = bundle.predict(rows)
    scored = pd.concat([rows.reset_index(drop=True), predictions], axis=1)
    (write_csv if output_kind == "csv" else write_parquet)(scored, target)
    failed = int(predictions["error"].notna().sum())
    logger.info("scored %d rows (%d rejected by the schema) -> %s", len(rows), failed, target)
    return scored
