"""Headless Chromium (Debian's `chromium` package) with the network off, for the tests that
prove a page renders offline.

"Network off" is Chromium's resolver mapping every host to "not found" except the test
server's 127.0.0.1, so a script from a CDN fails as it would on a machine with no internet
access. Skipped where Chromium is not installed,
required with `CI=true` (.ci/run installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from lifecycle.review.plots_page import LIBRARIES
from tests.support.project import ROOT
from tests.support.services import unavailable

RENDER_BUDGET_MS = 20000  # virtual time: scripts and timers run, the wall clock does not wait


def chromium() -> str:
    """The Chromium command (else skip, or fail in CI)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    unavailable(
        "Chromium is not installed (Debian: apt-get install chromium)",
        "it (.ci/run installs it)",
        "the offline page tests need a real browser",
    )


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran, loaded with every host name unresolvable."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # only the test server
                f"--virtual-time-budget={RENDER_BUDGET_MS}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def vega_modules() -> Path:
    """The npm packages `make setup` installs for the offline plots page (else skip, or fail in CI)."""
    folder = ROOT / ".dvc/plots/node_modules"
    if all((folder / library).is_file() for library in LIBRARIES):
        return folder
    unavailable("Vega is not installed in .dvc/plots/node_modules (`make setup` runs `npm ci` where npm exists)", "it")
