"""Command line: `python -m lifecycle predict --input rows.csv --output predictions.csv`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lifecycle import paths
from lifecycle.bundle import load_bundle
from lifecycle.errors import LifecycleError
from lifecycle.logs import configure_logging
from lifecycle.predict import score_file

logger = logging.getLogger("lifecycle")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lifecycle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="score a CSV or Parquet file with the packaged model")
    predict.add_argument("--input", required=True, type=Path, help="rows to score (.csv or .parquet)")
    predict.add_argument("--output", required=True, type=Path, help="where to write predictions (.csv or .parquet)")
    predict.add_argument("--bundle", default=paths.PACKAGE_DIR, type=Path, help="model bundle folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors print one line and return 1."""
    configure_logging()
    args = _parser().parse_args(argv)
    try:
        if args.command == "predict":
            score_file(load_bundle(args.bundle), args.input, args.output)
    except LifecycleError as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
