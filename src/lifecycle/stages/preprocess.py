"""preprocess: data/raw -> validation report, data/interim/{train,test}.parquet, roles.

The validation report is written before the stage decides whether to stop, so a user
whose data fails a check can read every problem, not only the first.
"""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.config import load_params
from lifecycle.preprocessing.steps import column_roles, label_and_split, prepare, validate
from lifecycle.stages.runner import run_stage
from lifecycle.storage import read_parquet, write_json, write_parquet, write_text
from lifecycle.validation.report import raise_on_errors, summary_markdown

logger = logging.getLogger(__name__)


def main() -> None:
    params = load_params()
    settings = params.preprocess
    names = [settings.base, *(join.source for join in settings.joins)]
    tables = {name: read_parquet(paths.raw_table(name)) for name in names}
    prepared = prepare(tables, settings)
    validation = validate(prepared, settings, params.validation)
    write_json(validation, paths.VALIDATION_REPORT)
    write_text(summary_markdown(validation), paths.VALIDATION_SUMMARY)
    logger.info("validation %s: %s", validation["status"], validation["counts"])
    raise_on_errors(validation, str(paths.VALIDATION_SUMMARY))
    train, test, report, target = label_and_split(prepared, settings)
    report["validation"] = validation["counts"]
    write_parquet(train, paths.INTERIM_TRAIN)
    write_parquet(test, paths.INTERIM_TEST)
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
