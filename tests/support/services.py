"""What a test does when a service or tool it needs is missing: skip on a workstation,
saying what to do; fail with `CI=true`, since CI (.ci/run, GitHub) provides every one."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def unavailable(reason: str, in_ci: str, hint: str | None = None) -> NoReturn:
    """Skip (`reason (hint)`), or fail under CI=true (`reason, and CI=true requires in_ci`)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, and CI=true requires {in_ci}")
    pytest.skip(f"{reason} ({hint})" if hint else reason)


def listening(host: str, port: int) -> bool:
    """Whether anything accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False
