"""preprocess: data/raw -> validation report, data/interim/{train,test}.parquet, roles.

The validation report is written before the stage decides whether to stop, so a user
whose data fails a check can read every problem, not only the first. Under engine dask
the joins and context features run partition by partition on the cluster (their steps'
parts in a temporary folder in data/interim); the roles, validation, labels and split
then see the joined table whole in this process, as under pandas, after the cluster has
closed, and each split is written a part's rows at a time.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lifecycle import paths
from lifecycle.cluster import dask_client
from lifecycle.config import EngineSettings, Params, load_params
from lifecycle.partitions import write_parts, write_table
from lifecycle.preprocessing.partitioned import join_partitioned
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


def _prepared(params: Params) -> Prepared:
    settings = params.preprocess
    others = {join.source: read_parquet(paths.raw_table(join.source)) for join in settings.joins}
    if params.engine.name == "pandas":
        return prepare({settings.base: read_parquet(paths.raw_table(settings.base)), **others}, settings)
    with dask_client(params.engine):
        base = part_files(paths.raw_table(settings.base))
        joined, counts = join_partitioned(base, others, settings, scratch=paths.INTERIM_TRAIN.parent)
    return describe(joined, counts, settings)


def main() -> None:
    params = load_params()
    settings = params.preprocess
    prepared = _prepared(params)
    validation = validate(prepared, settings, params.validation)
    write_json(validation, paths.VALIDATION_REPORT)
    write_text(summary_markdown(validation), paths.VALIDATION_SUMMARY)
    logger.info("validation %s: %s", validation["status"], validation["counts"])
    raise_on_errors(validation, str(paths.VALIDATION_SUMMARY))
    split = split_rows(prepared, settings)
    report = {**split.report, "validation": validation["counts"]}
    for rows, labels, path in zip(split.rows, split.labels, (paths.INTERIM_TRAIN, paths.INTERIM_TEST), strict=True):
        _write_split(prepared.table, rows, labels, path, params.engine)
    column_roles(prepared, split.target, settings).write(paths.INTERIM_ROLES)
    write_json(report, paths.PREPROCESS_REPORT)
    logger.info(
        "%s task: train %d rows, test %d rows; dropped %s",
        split.target.task,
        len(split.rows[0]),
        len(split.rows[1]),
        report["dropped"],
    )


def _write_split(table: pd.DataFrame, rows: np.ndarray, labels: pd.Series, path: Path, engine: EngineSettings) -> None:
    """One split's rows of the joined table and their target, as `write_table` writes them.
    Under dask a part's rows are taken at a time, so the split is never held whole beside
    the table (it was the stage's largest step); the parts' schema is the table's."""
    if engine.name == "pandas":
        write_table(rows_with_target(table, rows, labels), path, engine)
        return
    size = engine.partition_rows
    schema = pa.Schema.from_pandas(table, preserve_index=False)
    schema = schema.append(pa.Schema.from_pandas(labels.to_frame(), preserve_index=False).field(0))
    pieces = (
        rows_with_target(table, rows[start : start + size], labels.iloc[start : start + size])
        for start in range(0, max(len(rows), 1), size)
    )
    write_parts(pieces, schema, path, size)


if __name__ == "__main__":
    run_stage(main)
