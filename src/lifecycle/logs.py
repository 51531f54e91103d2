"""Logging setup shared by every entry point: timestamps go to logs, never into outputs."""

import logging


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr with time, level and module."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
