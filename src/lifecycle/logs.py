"""Logging setup shared by every entry point: timestamps go to logs, never into outputs."""

import logging


def configure_logging(level: int = logging.INFO, process: bool = False) -> None:
    """Log to stderr with time, level and module; with `process`, the process id too, so the
    lines of several server workers tell which worker wrote them."""
    pid = " [%(process)d]" if process else ""
    logging.basicConfig(level=level, format=f"%(asctime)s %(levelname)s{pid} %(name)s: %(message)s", force=True)
