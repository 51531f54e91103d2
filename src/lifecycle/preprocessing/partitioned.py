"""preprocess's `join_sources` on a Dask cluster, partition by partition, giving the pandas
engine's joined table row for row, with no worker holding more than a few partitions.

The base table (flights) comes as a folder of parts; the joined sources (weather, planes:
tables of dimensions) are read whole and deduplicated once. Every step is one task per
part that reads the part from disk and writes its result as a part of a scratch folder
(beside the stage's outputs, so on storage every worker shares), returning only counts:
nothing is kept on the workers between steps and nothing large passes through the
scheduler, so the cluster needs a few partitions of memory, not the table's size. Each
task runs the pandas engine's own pure functions (`join_table`, `coerce_dtypes`,
`past_mean`); what depends on more than one part is done exactly:

- exact duplicates across parts: each row's 128-bit hash (two 64-bit pandas hashes) is
  gathered and the later copies are dropped, as `DataFrame.duplicated` keeps the first;
- `count` context: each part's group sizes, summed, then merged onto its rows;
- `past_mean` context: a part is computed together with the columns it needs of every part
  holding an event inside its window ([first row time - lead - window, last row time - lead)),
  so each row sees exactly the events the pandas engine gives it, all strictly earlier than
  itself, whichever part they sit in. The sums add the same events in another order:
  equal for whole-number values (delays in minutes), else equal within float rounding.

The joined parts stay in the scratch folder while the stage reads the table a column at a
time (`PartColumns`: roles, validation, the split), and `write_rows` shuffles each split's
rows from them into the output's parts: the stage's process never holds the table.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
from dask.delayed import delayed
from distributed import Future, get_client

from lifecycle.config import ContextCount, ContextPastMean, ContextSettings, PreprocessSettings
from lifecycle.errors import LifecycleError
from lifecycle.partitions import part_name
from lifecycle.preprocessing.context import past_mean, require_new_column, timestamp
from lifecycle.preprocessing.part_columns import PartColumns
from lifecycle.preprocessing.steps import Counts, rows_with_target
from lifecycle.preprocessing.tables import coerce_dtypes, drop_exact_duplicates, join_table, require_columns
from lifecycle.storage import atomic_directory

logger = logging.getLogger(__name__)

# pandas' default hash key and a second one: a 128-bit row hash
HASH_KEYS = ("0123456789123456", "lifecycle-dedupe")

TimeRanges = tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]

_SCRATCH_PREFIX, _SCRATCH_SUFFIX = ".preprocess-", ".tmp"


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


@contextmanager
def scratch_folder(beside: Path) -> Iterator[Path]:
    """A temporary folder in `beside` for the steps' parts, removed whatever happens; and
    any such folder a run killed outright (out of memory) left there, removed first (DVC's
    repository lock keeps two runs of one workspace apart)."""
    beside.mkdir(parents=True, exist_ok=True)
    for stale in beside.glob(f"{_SCRATCH_PREFIX}*{_SCRATCH_SUFFIX}"):
        shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(dir=beside, prefix=_SCRATCH_PREFIX, suffix=_SCRATCH_SUFFIX))
    try:
        yield folder.resolve()  # absolute: a worker's working folder may differ from the stage's
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _row_hashes(file: Path) -> np.ndarray:
    part = pd.read_parquet(file)
    return np.column_stack(
        [pd.util.hash_pandas_object(part, index=False, hash_key=key).to_numpy() for key in HASH_KEYS]
    ).reshape(len(part), len(HASH_KEYS))


def _repeated_rows(files: list[Path]) -> list[np.ndarray]:
    """Per part, which rows repeat an earlier row of any part."""
    hashes = dask.compute(*(delayed(_row_hashes)(file) for file in files))
    repeated = pd.DataFrame(np.concatenate(hashes)).duplicated().to_numpy()
    return np.split(repeated, np.cumsum([len(h) for h in hashes])[:-1])


def _needed_columns(spec: ContextSettings) -> list[str]:
    if isinstance(spec, ContextCount):
        return list(spec.group_by)
    columns = [*spec.group_by, spec.value, spec.event_time.column, *spec.event_time.plus_minutes]
    return list(dict.fromkeys([*columns, spec.row_time.column, *spec.row_time.plus_minutes]))


def _check_context(columns: list[str], specs: list[ContextSettings]) -> None:
    """The pandas engine's errors for a context feature, raised before any part is written;
    and no feature computed from another (each part gets all of them in one step)."""
    for position, spec in enumerate(specs):
        earlier = [s.name for s in specs[:position]]
        require_new_column(pd.DataFrame(columns=[*columns, *earlier]), spec)
        needed = _needed_columns(spec)
        if derived := sorted(set(needed) & set(earlier)):
            raise LifecycleError(
                f"context {spec.name!r} reads the context feature(s) {derived}, which engine dask does "
                "not support yet; compute it from the joined columns, or set engine.name to pandas"
            )
        require_columns(pd.DataFrame(columns=columns), needed, f"context {spec.name!r}")


Stats = list[pd.Series | TimeRanges]


def _context_stats(part: pd.DataFrame, specs: list[ContextSettings]) -> Stats:
    """What each context feature needs to know of a part beside its rows: a count's group
    sizes, a past mean's first and last row and event times."""
    stats: Stats = []
    for spec in specs:
        if isinstance(spec, ContextCount):
            stats.append(part.groupby(spec.group_by, dropna=False).size())
        else:
            rows, events = timestamp(part, spec.row_time), timestamp(part, spec.event_time)
            stats.append((rows.min(), rows.max(), events.min(), events.max()))
    return stats


def _join_part(
    file: Path,
    repeated: np.ndarray,
    others: dict[str, pd.DataFrame],
    settings: PreprocessSettings,
    target: Path,
) -> tuple[list[str], dict[str, dict[str, int]], Stats]:
    joined = pd.read_parquet(file).loc[~repeated].reset_index(drop=True)
    counts = {}
    for join in settings.joins:
        joined, counts[join.source] = join_table(joined, others[join.source], join)
    joined = coerce_dtypes(joined, settings.dtypes)
    columns = [str(c) for c in joined.columns]
    _check_context(columns, settings.context)
    joined.to_parquet(target, index=False)
    return columns, counts, _context_stats(joined, settings.context)


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


# What a part's task is given per context feature: a count's group sizes summed over every
# part, in the order of the part's own groups; a past mean's other parts inside its window.
ContextInputs = list[np.ndarray | list[Path]]


def _with_context(file: Path, inputs: ContextInputs, specs: list[ContextSettings]) -> pd.DataFrame:
    """The part in `file` with every context feature (`inputs`: see `ContextInputs`)."""
    part = pd.read_parquet(file)
    columns: dict[Path, set[str]] = {}
    for spec, given in zip(specs, inputs):
        if isinstance(spec, ContextPastMean):
            for path in given:
                columns.setdefault(path, set()).update(_needed_columns(spec))
    near = {path: pd.read_parquet(path, columns=sorted(names)) for path, names in columns.items()}
    for spec, given in zip(specs, inputs):
        if isinstance(spec, ContextCount):
            # groups numbered as `size()` ordered them in the join step: no key lookup needed
            values = given[part.groupby(spec.group_by, dropna=False).ngroup().to_numpy()]
        else:
            needed = _needed_columns(spec)
            window = pd.concat([*(near[path][needed] for path in given), part[needed]], ignore_index=True)
            values = past_mean(window, spec).to_numpy()[len(window) - len(part) :]
        part[spec.name] = values
    return part


def _write_with_context(file: Path, inputs: ContextInputs, specs: list[ContextSettings], target: Path) -> None:
    _with_context(file, inputs, specs).to_parquet(target, index=False)


def _context_inputs(files: list[Path], stats: list[Stats], specs: list[ContextSettings]) -> list[ContextInputs]:
    """Per part, what its task needs of the other parts for each context feature."""
    totals = {
        k: pd.concat([part[k] for part in stats]).groupby(level=list(range(len(spec.group_by))), dropna=False).sum()
        for k, spec in enumerate(specs)
        if isinstance(spec, ContextCount)
    }
    return [
        [
            totals[k].reindex(stats[i][k].index).to_numpy("int64")
            if isinstance(spec, ContextCount)
            else [files[j] for j in window_partitions([part[k] for part in stats], i, spec)]
            for k, spec in enumerate(specs)
        ]
        for i in range(len(files))
    ]


def _add_context(files: list[Path], stats: list[Stats], specs: list[ContextSettings], folder: Path) -> list[Path]:
    """Write `files` with every context feature added, as the parts of `folder`."""
    # scattered, not embedded in the task graph: each part's inputs go to one worker once
    inputs = get_client().scatter(_context_inputs(files, stats, specs), hash=False)
    folder.mkdir()
    targets = [folder / file.name for file in files]
    dask.compute(*(delayed(_write_with_context)(*args, specs, t) for *args, t in zip(files, inputs, targets)))
    return targets


def _on_every_worker(value: object) -> Future:
    """`value` sent once to each worker, for every task to read (embedded in the task graph
    instead, it would pass through the scheduler with each task)."""
    [future] = get_client().scatter([value], broadcast=True, hash=False)
    return future


def join_partitioned(
    files: list[Path], others: dict[str, pd.DataFrame], settings: PreprocessSettings, scratch: Path
) -> tuple[PartColumns, Counts]:
    """`join_sources` of the base's parts (`files`, in row order) and the other (whole)
    tables, its steps' parts written in the folder `scratch` (a `scratch_folder`): the
    joined table as those parts, read a column at a time, and the same counts."""
    check_supported(settings)
    repeated = _repeated_rows(files)
    rows = sum(len(r) for r in repeated)
    if rows == 0:
        raise LifecycleError(f"raw table {settings.base!r} is empty")
    deduped, duplicates = {}, {settings.base: int(sum(r.sum() for r in repeated))}
    for name, frame in others.items():
        if frame.empty:
            raise LifecycleError(f"raw table {name!r} is empty")
        deduped[name], duplicates[name] = drop_exact_duplicates(frame)
    shared = _on_every_worker(deduped)
    (scratch / "joined").mkdir()
    parts = [scratch / "joined" / part_name(number) for number in range(len(files))]
    joining = (delayed(_join_part)(f, r, shared, settings, t) for f, r, t in zip(files, repeated, parts))
    done = dask.compute(*joining)
    logger.info("dask: %d parts deduplicated, joined and typed", len(parts))
    joins = [counts for _, counts, _ in done]
    if settings.context:
        parts = _add_context(parts, [stats for *_, stats in done], settings.context, scratch / "context")
        logger.info("dask: %d context features added", len(settings.context))
    counts = {
        "input_rows": {settings.base: rows, **{name: int(len(frame)) for name, frame in others.items()}},
        "na_values": {},
        "exact_duplicates": duplicates,
        "duplicate_join_keys": {j.source: joins[0][j.source]["right_duplicate_keys"] for j in settings.joins},
        "inner_join": {j.source: sum(c[j.source]["dropped_by_inner_join"] for c in joins) for j in settings.joins},
        "unmatched_in_join": {j.source: sum(c[j.source]["unmatched_left_rows"] for c in joins) for j in settings.joins},
    }
    return PartColumns(parts), counts


def _spread_rows(
    file: Path, dtypes: dict[str, str], given: tuple[np.ndarray, pd.Series, np.ndarray], schema: pa.Schema, folder: Path
) -> None:
    """The rows of the part in `file` that one split takes (`given`: their positions in the
    part and their target, in output order, and the output part each goes to), with the
    roles' dtypes, written as this part's fragment of each of those output parts."""
    local, labels, outputs = given
    taken = rows_with_target(coerce_dtypes(pd.read_parquet(file), dtypes), local, labels)
    starts = [0, *(np.flatnonzero(np.diff(outputs)) + 1)]  # `outputs` never decreases
    for start, end in zip(starts, [*starts[1:], len(outputs)]):
        fragments = folder / part_name(int(outputs[start]))
        fragments.mkdir(exist_ok=True)
        taken.iloc[start:end].to_parquet(fragments / file.name, index=False, schema=schema)


def _gather_rows(fragments: Path, owners: np.ndarray, schema: pa.Schema, target: Path) -> None:
    """One output part from its fragments (`owners`: the table part each of its rows comes
    from, in output order): read in part order, so part by part, each in output order."""
    frame = pd.concat([pd.read_parquet(file) for file in sorted(fragments.iterdir())], ignore_index=True)
    in_part_order = np.argsort(owners, kind="stable")
    frame.take(np.argsort(in_part_order)).to_parquet(target, index=False, schema=schema)


def write_rows(table: PartColumns, rows: np.ndarray, labels: pd.Series, target: Path, size: int, scratch: Path) -> None:
    """`rows_with_target(table, rows, labels)` (the roles' dtypes applied) as the folder
    `target` of parts of `size` rows, with the whole table's schema, as `write_parts`
    writes it, by the cluster and no process holding more than a few parts.

    A shuffle in two steps, as the rows of a time split come in time order from anywhere
    in the table: each part of `table` is read once and writes its rows of each output part
    as a fragment (in `scratch`), then each output part reads its fragments and puts the
    rows in order (no more fragments than parts plus output parts when the table is
    roughly in time order, as the default data is)."""
    schema = table.schema().append(pa.Schema.from_pandas(labels.to_frame(), preserve_index=False).field(0))
    ends = np.cumsum(table.lengths)
    starts = ends - np.asarray(table.lengths)
    owners = np.searchsorted(ends, rows, side="right")  # the part of the table each row is in
    counts = np.bincount(owners, minlength=len(ends))
    by_part = np.split(np.argsort(owners, kind="stable"), np.cumsum(counts)[:-1])  # output positions, per part
    client = get_client()
    given = [(rows[out] - starts[part], labels.iloc[out], out // size) for part, out in enumerate(by_part)]
    folder = scratch / target.name
    folder.mkdir()
    spreading = zip(table.files, client.scatter(given, hash=False), counts)
    dask.compute(*(delayed(_spread_rows)(f, table.dtypes, g, schema, folder) for f, g, n in spreading if n))
    outputs = range(-(-len(rows) // size))
    owned = client.scatter([owners[n * size : (n + 1) * size] for n in outputs], hash=False)
    with atomic_directory(target) as temp:
        gathering = (
            delayed(_gather_rows)(folder / part_name(n), o, schema, temp / part_name(n)) for n, o in zip(outputs, owned)
        )
        dask.compute(*gathering)
    fragments = sum(1 for _ in folder.glob("*/*"))
    logger.info("dask: %s written as %d parts from %d fragments", target.name, len(outputs), fragments)
