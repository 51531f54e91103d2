"""Expensive session fixtures built once for the whole run, whatever the number of workers.

pytest-xdist gives every worker its own session, so a plain session fixture (a real
`dvc repro`) would run once per worker. `built_once` builds into a folder every worker of
the run shares, under a file lock: the first worker builds it, the others wait and use it.
This is the pattern pytest-xdist documents for session-scoped fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """`name`'s folder, shared by the run's workers, after `build(folder)` ran in one of them."""
    root = tmp_path_factory.getbasetemp()
    if root.name.startswith("popen-gw"):  # a worker's own folder: share its parent
        root = root.parent
    folder = root / name
    done = root / f"{name}.built"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
