"""preprocess: data/raw -> validation report, data/interim/{train,test}.parquet, roles.

The validation report is written before the stage decides whether to stop, so a user
whose data fails a check can read every problem, not only the first. Under engine dask
the joins and context features run partition by partition on the cluster (their steps'
parts in a temporary folder in data/interim); the roles, validation, labels and split
then see the joined table whole in this process, as under pandas, after the cluster has
closed.
"""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.cluster import dask_client
from lifecycle.config import Params, load_params
from lifecycle.partitions import write_table
from lifecycle.preprocessing.partitioned import join_partitioned
from lifecycle.preprocessing.steps import Prepared, column_roles, describe, label_and_split, prepare, validate
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
    train, test, report, target = label_and_split(prepared, settings)
    report["validation"] = validation["counts"]
    write_table(train, paths.INTERIM_TRAIN, params.engine)
    write_table(test, paths.INTERIM_TEST, params.engine)
    column_roles(prepared, target, settings).write(paths.INTERIM_ROLES)
    write_json(report, paths.PREPROCESS_REPORT)
    logger.info(
        "%s task: train %d rows, test %d rows; dropped %s",
        target.task,
        len(train),
        len(test),
        report["dropped"],
    )


if __name__ == "__main__":
    run_stage(main)
