"""Atomic, deterministic reads and writes of the pipeline's files.

Every write goes to a temporary file in the target's own folder and is renamed into
place (writes are atomic), so a crash leaves the previous file or none, never half of one. JSON is
written with sorted keys and a trailing newline so that diffs in pull requests show
only real changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from lifecycle.errors import LifecycleError


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        os.chmod(temp, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `target`; swap it in for `target` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield temp
        os.chmod(temp, 0o755)
        if target.exists():
            retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
            os.replace(target, retired / target.name)
            os.replace(temp, target)
            shutil.rmtree(retired)
        else:
            os.replace(temp, target)
    finally:
        if temp.exists():
            shutil.rmtree(temp)


def _write_with(target: Path, write: Callable[[Path], None]) -> None:
    with atomic_path(target) as temp:
        write(temp)


def write_json(data: Any, target: Path) -> None:
    """Write JSON with sorted keys, so identical content gives identical bytes."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    _write_with(target, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_text(text: str, target: Path) -> None:
    """Write a UTF-8 text file atomically."""
    _write_with(target, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_parquet(frame: pd.DataFrame, target: Path) -> None:
    """Write a data frame to Parquet without its index."""
    _write_with(target, lambda temp: frame.to_parquet(temp, index=False))


def write_csv(frame: pd.DataFrame, target: Path) -> None:
    """Write a data frame to CSV without its index."""
    _write_with(target, lambda temp: frame.to_csv(temp, index=False))


def write_joblib(obj: Any, target: Path) -> None:
    """Pickle a fitted object with joblib."""
    _write_with(target, lambda temp: joblib.dump(obj, temp))


def _existing(path: Path) -> Path:
    """`path` if it is a file, else the error naming it and how to create it."""
    if not path.is_file():
        raise LifecycleError(f"input file not found: {path} (run `dvc repro` to create it)")
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file written by an earlier stage, or the folder of parts in row order
    that the dask engine writes in its place (`lifecycle.partitions`)."""
    return pd.read_parquet(path if path.is_dir() else _existing(path))


def part_files(path: Path) -> list[Path]:
    """The parts of a Parquet folder in order, as absolute paths (a worker's working folder
    may differ from the stage's); a single Parquet file, as the pandas engine writes, is one part."""
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
    elif path.is_file():
        files = [path]
    else:
        raise LifecycleError(f"input file not found: {path} (run `dvc repro` to create it)")
    return [file.resolve() for file in files]


def read_json(path: Path) -> Any:
    """Read a JSON file written by an earlier stage."""
    return json.loads(_existing(path).read_text(encoding="utf-8"))


def read_joblib(path: Path) -> Any:
    """Unpickle a file this pipeline wrote itself (pickles from elsewhere: see bundle.py)."""
    return joblib.load(_existing(path))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (md5 matches the hashes DVC 3 records in dvc.lock)."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
