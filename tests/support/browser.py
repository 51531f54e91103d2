"""Headless Chromium (Debian's `chromium` package) with the network off, for the tests that
prove a page renders offline and shows what it should.

"Network off" is Chromium's resolver mapping every host to "not found" except the test
server's 127.0.0.1, so a script from a CDN fails as it would on a machine with no internet
access. Skipped where Chromium is not installed,
required with `CI=true` (.ci/run installs it).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lifecycle.review.plots_page import LIBRARIES
from tests.support.http import running
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


HARNESS = "/__images__.html"
# Loads the page in a frame of the same origin and, once it loaded, writes what the browser
# made of each image into the DOM that --dump-dom prints: the page itself has no script.
HARNESS_PAGE = b"""<!DOCTYPE html><html><body>
<iframe id="page" src="index.html" style="width:1200px;height:900px"></iframe>
<script>
document.getElementById("page").onload = function () {
  var shown = Array.prototype.map.call(this.contentDocument.images, function (image) {
    return [image.getAttribute("src"), image.naturalWidth, image.naturalHeight];
  });
  var out = document.createElement("pre");
  out.id = "images";
  out.textContent = JSON.stringify({title: this.contentDocument.title, images: shown});
  document.body.appendChild(out);
};
</script></body></html>"""


class _FolderHandler(SimpleHTTPRequestHandler):
    """Serves a report folder, plus the harness page at HARNESS."""

    def do_GET(self) -> None:
        if self.path != HARNESS:
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(HARNESS_PAGE)))
        self.end_headers()
        self.wfile.write(HARNESS_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the rendered result, not an access log."""


def rendered_images(folder: Path) -> dict[str, Any]:
    """The page `folder/index.html` as headless Chromium shows it with the network off, served
    from 127.0.0.1: its title and, per image, its src and the decoded width and height (0 for
    an image the browser could not load or decode)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_FolderHandler, directory=str(folder)))
    with running(server):
        dom = rendered_dom(f"http://127.0.0.1:{server.server_address[1]}{HARNESS}")
    found = re.search(r'<pre id="images">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, f"the page did not load in the browser: {dom[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def vega_modules() -> Path:
    """The npm packages `make setup` installs for the offline plots page (else skip, or fail in CI)."""
    folder = ROOT / ".dvc/plots/node_modules"
    if all((folder / library).is_file() for library in LIBRARIES):
        return folder
    unavailable("Vega is not installed in .dvc/plots/node_modules (`make setup` runs `npm ci` where npm exists)", "it")
