"""Local CSV and Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow

from lifecycle.config import CsvSource, ParquetSource
from lifecycle.errors import LifecycleError
from lifecycle.sources.base import read_source


def _existing(path_text: str) -> Path:
    path = Path(path_text)
    if not path.is_file():
        raise LifecycleError(f"source file not found: {path}")
    return path


def _first_bad_byte(path: Path, encoding: str) -> int | None:
    """The file offset of the first byte that does not decode (pandas reports a chunk offset)."""
    try:
        path.read_bytes().decode(encoding)
    except UnicodeDecodeError as error:
        return error.start
    return None


@read_source.register
def _(settings: CsvSource) -> pd.DataFrame:
    path = _existing(settings.path)
    try:
        return pd.read_csv(path, sep=settings.separator, encoding=settings.encoding)
    except pd.errors.EmptyDataError:
        raise LifecycleError(f"source file {path} is empty") from None
    except UnicodeDecodeError:
        raise LifecycleError(
            f"source file {path} is not valid {settings.encoding} (byte {_first_bad_byte(path, settings.encoding)}); "
            "set the source's `encoding` in params.yaml"
        ) from None
    except pd.errors.ParserError as error:
        raise LifecycleError(f"source file {path} is not valid CSV: {error}") from None


@read_source.register
def _(settings: ParquetSource) -> pd.DataFrame:
    path = _existing(settings.path)
    try:
        return pd.read_parquet(path)
    except (pyarrow.ArrowInvalid, OSError) as error:
        raise LifecycleError(f"source file {path} is not valid Parquet: {error}") from None
