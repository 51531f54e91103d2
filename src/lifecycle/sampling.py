"""Seeded row samples: of a frame in memory, or of a stage's Parquet table read part by part.

Both take the same rows for the same seed (`sample_positions`), so a stage that samples a
folder of parts under the dask engine holds only the sample, yet gets exactly the rows the
pandas engine takes from the whole table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from lifecycle.storage import part_files, read_parquet


def sample_positions(total: int, rows: int, seed: int) -> np.ndarray:
    """The sorted positions of a seeded sample of `rows` of `total` rows: the ones
    `DataFrame.sample(n=rows, random_state=seed)` picks, so samples taken before this
    function existed stay the same."""
    return np.sort(np.random.RandomState(seed).choice(total, size=rows, replace=False))


def sample_rows(frame: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    """A deterministic sample of `rows` rows, kept in their original order."""
    if rows is None or rows >= len(frame):
        return frame
    return frame.take(sample_positions(len(frame), rows, seed)).reset_index(drop=True)


def read_sample(path: Path, rows: int | None, seed: int) -> pd.DataFrame:
    """A stage's Parquet table (a file, or a folder of parts): whole, or `sample_rows` of it.

    The sample is read one part at a time, keeping only its rows of each, so the table is
    never held whole; the row counts come from the parts' footers.
    """
    parts = part_files(path)
    sizes = [pq.ParquetFile(part).metadata.num_rows for part in parts]
    total = sum(sizes)
    if rows is None or rows >= total:
        return read_parquet(path)
    positions = sample_positions(total, rows, seed)
    starts = np.cumsum([0, *sizes])
    pieces = []
    for part, start, stop in zip(parts, starts[:-1], starts[1:], strict=True):
        inside = positions[(positions >= start) & (positions < stop)] - start
        if len(inside):
            pieces.append(pd.read_parquet(part).take(inside))
    return pd.concat(pieces, ignore_index=True)
