"""The project as a user clones it: its root and its files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Commands installed beside the interpreter running the tests (the venv's bin), found even
# when pytest runs as `.venv/bin/python -m pytest` with another PATH.
BIN = Path(sys.executable).parent


def project_files() -> list[str]:
    """Tracked and not-ignored files of the working tree (the project as a user clones it)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [f for f in listed if (ROOT / f).is_file()]


def tool(name: str) -> Path | None:
    """A command of the project's environment: beside the interpreter, else on PATH."""
    beside = BIN / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None
