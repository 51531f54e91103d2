"""preprocess: data/raw -> validation report, data/interim/{train,test}.parquet, roles.

The validation report is written before the stage decides whether to stop, so a user
whose data fails a check can read every problem, not only the first. Under engine dask
the joins and context features run partition by partition on the cluster, their parts in
a temporary folder in data/interim; the roles, validation, labels and split read that
table a column at a time (`PartColumns`), and the cluster writes each split from its
parts: this process never holds the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle import paths
from lifecycle.cluster import dask_client
from lifecycle.config import Params, load_params
from lifecycle.partitions import write_table
from lifecycle.preprocessing.partitioned import join_partitioned, scratch_folder, write_rows
from lifecycle.preprocessing.steps import (
    Prepared,
    column_roles,
    describe,
    prepare,
    rows_with_target,
    split_rows,
    validate,
)
from lifecycle.stages.runner import run_stage
from lifecycle.storage import part_files, read_parquet, write_json, write_text
from lifecycle.validation.report import raise_on_errors, summary_markdown

logger = logging.getLogger(__name__)

# Writes one split: its rows' positions in the joined table, their encoded target, the path.
SplitWriter = Callable[[np.ndarray, pd.Series, Path], None]


def main() -> None:
    params = load_params()
    settings = params.preprocess
    others = {join.source: read_parquet(paths.raw_table(join.source)) for join in settings.joins}
    if params.engine.name == "pandas":
        prepared = prepare({settings.base: read_parquet(paths.raw_table(settings.base)), **others}, settings)

        def write_frame(rows: np.ndarray, labels: pd.Series, path: Path) -> None:
            write_table(rows_with_target(prepared.table, rows, labels), path, params.engine)

        finish(prepared, params, write_frame)
        return
    with dask_client(params.engine), scratch_folder(paths.INTERIM_TRAIN.parent) as scratch:
        joined, counts = join_partitioned(part_files(paths.raw_table(settings.base)), others, settings, scratch)
        prepared = describe(joined, counts, settings)

        def write_parts(rows: np.ndarray, labels: pd.Series, path: Path) -> None:
            write_rows(prepared.table, rows, labels, path, params.engine.partition_rows, scratch)

        finish(prepared, params, write_parts)


def finish(prepared: Prepared, params: Params, write: SplitWriter) -> None:
    """Validate the joined table (the report written first), label and split it, write the
    splits with `write`, the roles and the report."""
    settings = params.preprocess
    validation = validate(prepared, settings, params.validation)
    write_json(validation, paths.VALIDATION_REPORT)
    write_text(summary_markdown(validation), paths.VALIDATION_SUMMARY)
    logger.info("validation %s: %s", validation["status"], validation["counts"])
    raise_on_errors(validation, str(paths.VALIDATION_SUMMARY))
    split = split_rows(prepared, settings)
    report = {**split.report, "validation": validation["counts"]}
    for rows, labels, path in zip(split.rows, split.labels, (paths.INTERIM_TRAIN, paths.INTERIM_TEST), strict=True):
        write(rows, labels, path)
    column_roles(prepared, split.target, settings).write(paths.INTERIM_ROLES)
    write_json(report, paths.PREPROCESS_REPORT)
    logger.info(
        "%s task: train %d rows, test %d rows; dropped %s",
        split.target.task,
        len(split.rows[0]),
        len(split.rows[1]),
        report["dropped"],
    )


if __name__ == "__main__":
    run_stage(main)
