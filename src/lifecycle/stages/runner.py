"""How every stage runs: `run_stage` turns a user error into one logged line and exit code 1."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from lifecycle.errors import LifecycleError
from lifecycle.logs import configure_logging


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's `main`, exiting non-zero with one clear line on a `LifecycleError`."""
    configure_logging()
    logger = logging.getLogger(main.__module__)
    try:
        main()
    except LifecycleError as error:
        logger.error("%s", error)
        sys.exit(1)
