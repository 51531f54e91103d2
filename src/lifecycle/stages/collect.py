"""collect: snapshot every declared source to data/raw/<name>.parquet, with a summary.

The snapshot, not the live source, is what every later stage reads and DVC versions.
Under engine dask each snapshot is a folder of Parquet parts (no cluster is needed: the
source readers are pandas readers, so this process holds each source and writes its parts).
"""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.config import Params, SourceSettings, load_params
from lifecycle.partitions import write_table
from lifecycle.sampling import sample_rows
from lifecycle.sources.base import known_rows, require_rows
from lifecycle.sources.registry import read_source
from lifecycle.sources.streamed import collect_parts, streams
from lifecycle.sources.summary import Summary, summarize_table
from lifecycle.stages.runner import run_stage
from lifecycle.storage import write_json

logger = logging.getLogger(__name__)


def _collect(name: str, source: SourceSettings, params: Params) -> Summary:
    """Write one source's snapshot; returns its summary."""
    target, seed = paths.raw_table(name), params.collect.sample_seed
    if params.engine.name == "dask" and streams(source):
        return collect_parts(source, name, seed, target, params.engine)
    frame = known_rows(require_rows(read_source(source), name, source), source.known_before, name)
    frame = sample_rows(frame, source.sample_rows, seed)
    write_table(frame, target, params.engine)
    return summarize_table(frame)


def main() -> None:
    params = load_params()
    summary = {}
    for name, source in params.sources.items():
        summary[name] = _collect(name, source, params)
        logger.info("collected %s: %d rows x %d columns", name, summary[name]["rows"], summary[name]["columns"])
    write_json(summary, paths.COLLECT_SUMMARY)


if __name__ == "__main__":
    run_stage(main)
