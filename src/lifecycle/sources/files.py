"""CSV, Parquet and JSON Lines files, each a local path or an http(s) URL.

A URL is downloaded into memory (bounded by the source's `timeout_seconds`) and parsed
like a local file; a failed download names the URL and the HTTP status.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow

from lifecycle.config import CsvSource, JsonlSource, ParquetSource
from lifecycle.errors import LifecycleError
from lifecycle.sources.base import frame_from_records, read_source
from lifecycle.sources.http import fetch, is_url

Readable = Path | io.BytesIO


def _open(path_text: str, timeout: float) -> Readable:
    """A local file's path, or the downloaded body of a URL."""
    if is_url(path_text):
        return io.BytesIO(fetch(path_text, timeout))
    path = Path(path_text)
    if not path.is_file():
        raise LifecycleError(f"source file not found: {path}")
    return path


def _where(source: Readable, path_text: str) -> str:
    """How messages name the source: the local path as read, or the URL."""
    return str(source) if isinstance(source, Path) else path_text


def _content(source: Readable) -> bytes:
    return source.read_bytes() if isinstance(source, Path) else source.getvalue()


def _first_bad_byte(source: Readable, encoding: str) -> int | None:
    """The file offset of the first byte that does not decode (pandas reports a chunk offset)."""
    try:
        _content(source).decode(encoding)
    except UnicodeDecodeError as error:
        return error.start
    return None


def _not_decodable(where: str, source: Readable, encoding: str) -> LifecycleError:
    return LifecycleError(
        f"source file {where} is not valid {encoding} (byte {_first_bad_byte(source, encoding)}); "
        "set the source's `encoding` in params.yaml"
    )


@read_source.register
def _(settings: CsvSource) -> pd.DataFrame:
    source = _open(settings.path, settings.timeout_seconds)
    where = _where(source, settings.path)
    try:
        return pd.read_csv(source, sep=settings.separator, encoding=settings.encoding)
    except pd.errors.EmptyDataError:
        raise LifecycleError(f"source file {where} is empty") from None
    except UnicodeDecodeError:
        raise _not_decodable(where, source, settings.encoding) from None
    except pd.errors.ParserError as error:
        raise LifecycleError(f"source file {where} is not valid CSV: {error}") from None


@read_source.register
def _(settings: ParquetSource) -> pd.DataFrame:
    source = _open(settings.path, settings.timeout_seconds)
    where = _where(source, settings.path)
    try:
        return pd.read_parquet(source)
    except (pyarrow.ArrowInvalid, OSError) as error:
        raise LifecycleError(f"source file {where} is not valid Parquet: {error}") from None


def _json_lines(text: str, where: str) -> list[object]:
    """The value on each non-blank line, or an error naming the first bad line."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise LifecycleError(f"source file {where} is not valid JSON Lines: line {number}: {error.msg}") from None
    return records


@read_source.register
def _(settings: JsonlSource) -> pd.DataFrame:
    source = _open(settings.path, settings.timeout_seconds)
    where = _where(source, settings.path)
    try:
        text = _content(source).decode(settings.encoding)
    except UnicodeDecodeError:
        raise _not_decodable(where, source, settings.encoding) from None
    return frame_from_records(_json_lines(text, where), f"source file {where}")
