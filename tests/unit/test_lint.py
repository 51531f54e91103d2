"""The code stays free of unused imports, undefined names and shadowed fixtures, and formatted (ruff)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.project import ROOT, tool


def _ruff() -> Path:
    ruff = tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    return ruff


def test_ruff_finds_no_problem() -> None:
    done = subprocess.run([_ruff(), "check", "src", "tests", "bench"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted() -> None:
    """`ruff format` would change nothing (the line length is pyproject.toml's)."""
    done = subprocess.run(
        [_ruff(), "format", "--check", "src", "tests", "bench"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
