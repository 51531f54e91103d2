"""preprocess's `join_sources` on a Dask cluster, partition by partition, giving the pandas
engine's joined table row for row.

The base table (flights) comes in partitions; the joined sources (weather, planes: tables
of dimensions) are read whole and deduplicated once. Each partition goes through the same
pure functions as the pandas engine (`join_table`, `coerce_dtypes`, `past_mean`); what
depends on more than one partition is done exactly:

- exact duplicates across partitions: each row's 128-bit hash (two 64-bit pandas hashes)
  is gathered and the later copies are dropped, as `DataFrame.duplicated` keeps the first;
- `count` context: each partition's group sizes, summed, then merged onto its rows;
- `past_mean` context: a partition is computed together with the rows of every partition
  holding an event inside its window ([first row time - lead - window, last row time - lead)),
  so each row sees exactly the events the pandas engine gives it, all strictly earlier than
  itself, whichever partition they sit in. The sums add the same events in another order:
  equal for whole-number values (delays in minutes), else equal within float rounding.
"""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
from dask.delayed import Delayed, delayed

from lifecycle.config import ContextCount, ContextPastMean, ContextSettings, PreprocessSettings
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.context import past_mean, require_new_column, timestamp
from lifecycle.preprocessing.steps import Counts
from lifecycle.preprocessing.tables import coerce_dtypes, drop_exact_duplicates, join_table, require_columns

# pandas' default hash key and a second one: a 128-bit row hash
HASH_KEYS = ("0123456789123456", "lifecycle-dedupe")

TimeRanges = tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]


def check_supported(settings: PreprocessSettings) -> None:
    """Refuse the settings whose result depends on a whole column at once (not done yet)."""
    if settings.na_values:
        raise LifecycleError(
            "preprocess.na_values is not supported by engine dask yet (it decides a column's type "
            "from all its rows); set engine.name to pandas"
        )
    categories = sorted(column for column, kind in settings.dtypes.items() if kind == "category")
    if categories:
        raise LifecycleError(
            f"preprocess.dtypes: category columns {categories} are not supported by engine dask yet "
            "(each partition would have its own categories); declare them as string"
        )


def _row_hashes(part: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [pd.util.hash_pandas_object(part, index=False, hash_key=key).to_numpy() for key in HASH_KEYS]
    ).reshape(len(part), len(HASH_KEYS))


def _repeated_rows(parts: list[Delayed]) -> list[np.ndarray]:
    """Per partition, which rows repeat an earlier row of any partition."""
    hashes = dask.compute(*(delayed(_row_hashes)(part) for part in parts))
    repeated = pd.DataFrame(np.concatenate(hashes)).duplicated().to_numpy()
    return np.split(repeated, np.cumsum([len(h) for h in hashes])[:-1])


def _join_part(
    part: pd.DataFrame, repeated: np.ndarray, others: dict[str, pd.DataFrame], settings: PreprocessSettings
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    joined = part.loc[~repeated].reset_index(drop=True)
    counts = {}
    for join in settings.joins:
        joined, counts[join.source] = join_table(joined, others[join.source], join)
    return coerce_dtypes(joined, settings.dtypes), counts


def _group_sizes(part: pd.DataFrame, spec: ContextCount) -> pd.Series:
    require_columns(part, spec.group_by, f"context {spec.name!r}")
    return part.groupby(spec.group_by, dropna=False).size()


def _with_count(part: pd.DataFrame, sizes: pd.Series, spec: ContextCount) -> pd.DataFrame:
    counted = part[spec.group_by].merge(sizes.rename(spec.name).reset_index(), on=spec.group_by, how="left")
    return part.assign(**{spec.name: counted[spec.name].astype("int64").to_numpy()})


def _add_count(parts: list[Delayed], spec: ContextCount) -> list[Delayed]:
    sizes = pd.concat(dask.compute(*(delayed(_group_sizes)(part, spec) for part in parts)))
    total = sizes.groupby(level=list(range(len(spec.group_by))), dropna=False).sum()
    return [delayed(_with_count)(part, total, spec) for part in parts]


def _past_columns(spec: ContextPastMean) -> list[str]:
    columns = [*spec.group_by, spec.value, spec.event_time.column, *spec.event_time.plus_minutes]
    return list(dict.fromkeys([*columns, spec.row_time.column, *spec.row_time.plus_minutes]))


def _time_ranges(part: pd.DataFrame, spec: ContextPastMean) -> TimeRanges:
    require_columns(part, _past_columns(spec), f"context {spec.name!r}")
    rows, events = timestamp(part, spec.row_time), timestamp(part, spec.event_time)
    return rows.min(), rows.max(), events.min(), events.max()


def window_partitions(ranges: list[TimeRanges], position: int, spec: ContextPastMean) -> list[int]:
    """The other partitions holding an event the rows of partition `position` may average:
    one at a time inside [first row time - lead - window, last row time - lead)."""
    first, last = ranges[position][:2]
    if pd.isna(first):
        return []
    lead = pd.Timedelta(minutes=spec.lead_minutes)
    low, high = first - lead - pd.Timedelta(minutes=spec.window_minutes), last - lead
    return [
        other
        for other, (_, _, earliest, latest) in enumerate(ranges)
        if other != position and not pd.isna(earliest) and earliest < high and latest >= low
    ]


def _with_past_mean(part: pd.DataFrame, neighbours: list[pd.DataFrame], spec: ContextPastMean) -> pd.DataFrame:
    columns = _past_columns(spec)
    window = pd.concat([*(n[columns] for n in neighbours), part[columns]], ignore_index=True)
    means = past_mean(window, spec).to_numpy()
    return part.assign(**{spec.name: means[len(window) - len(part) :]})


def _add_past_mean(parts: list[Delayed], spec: ContextPastMean) -> list[Delayed]:
    ranges = list(dask.compute(*(delayed(_time_ranges)(part, spec) for part in parts)))
    return [
        delayed(_with_past_mean)(part, [parts[j] for j in window_partitions(ranges, i, spec)], spec)
        for i, part in enumerate(parts)
    ]


def _add_context(parts: list[Delayed], columns: pd.Index, spec: ContextSettings) -> list[Delayed]:
    require_new_column(pd.DataFrame(columns=columns), spec)
    if isinstance(spec, ContextCount):
        return _add_count(parts, spec)
    return _add_past_mean(parts, spec)


def join_partitioned(
    base: list[Delayed], others: dict[str, pd.DataFrame], settings: PreprocessSettings
) -> tuple[pd.DataFrame, Counts]:
    """`join_sources` of the base's partitions and the other (whole) tables: the joined table
    gathered into this process, and the same counts."""
    check_supported(settings)
    repeated = _repeated_rows(base)
    rows = sum(len(r) for r in repeated)
    if rows == 0:
        raise LifecycleError(f"raw table {settings.base!r} is empty")
    deduped, duplicates = {}, {settings.base: int(sum(r.sum() for r in repeated))}
    for name, frame in others.items():
        if frame.empty:
            raise LifecycleError(f"raw table {name!r} is empty")
        deduped[name], duplicates[name] = drop_exact_duplicates(frame)
    shared = delayed(deduped)  # one task every partition's join reads, sent once to each worker
    joined = [delayed(_join_part, nout=2)(p, r, shared, settings) for p, r in zip(base, repeated)]
    parts = list(dask.persist(*(frame for frame, _ in joined)))
    joins = dask.compute(*(counts for _, counts in joined))
    columns = dask.compute(parts[0].columns)[0]
    for spec in settings.context:
        parts = list(dask.persist(*_add_context(parts, columns, spec)))
        columns = columns.append(pd.Index([spec.name]))
    counts = {
        "input_rows": {settings.base: rows, **{name: int(len(frame)) for name, frame in others.items()}},
        "na_values": {},
        "exact_duplicates": duplicates,
        "duplicate_join_keys": {j.source: joins[0][j.source]["right_duplicate_keys"] for j in settings.joins},
        "inner_join": {j.source: sum(c[j.source]["dropped_by_inner_join"] for c in joins) for j in settings.joins},
        "unmatched_in_join": {j.source: sum(c[j.source]["unmatched_left_rows"] for c in joins) for j in settings.joins},
    }
    return pd.concat(dask.compute(*parts), ignore_index=True), counts
