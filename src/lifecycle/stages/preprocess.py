"""preprocess: data/raw -> data/interim/{train,test}.parquet and a report of dropped rows."""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.config import load_params
from lifecycle.preprocess import column_roles, preprocess
from lifecycle.stages import run_stage
from lifecycle.storage import read_parquet, write_json, write_parquet

logger = logging.getLogger(__name__)


def main() -> None:
    params = load_params()
    settings = params.preprocess
    names = [settings.base, *(join.source for join in settings.joins)]
    tables = {name: read_parquet(paths.raw_table(name)) for name in names}
    train, test, report = preprocess(tables, settings)
    write_parquet(train, paths.INTERIM_TRAIN)
    write_parquet(test, paths.INTERIM_TEST)
    write_json(column_roles(settings), paths.INTERIM_ROLES)
    write_json(report, paths.PREPROCESS_REPORT)
    logger.info("train %d rows, test %d rows; dropped %s", len(train), len(test), report["dropped"])


if __name__ == "__main__":
    run_stage(main)
