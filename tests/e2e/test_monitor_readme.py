"""The README's Monitor section works as written, against a real server (only the port differs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.project import BIN, ROOT
from tests.support.serving import ServerProcess

SECTION = (ROOT / "README.md").read_text().split("## Monitor\n", 1)[1].split("\n## ", 1)[0]
LABELS, MONITOR = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S)


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A README command (its comment dropped) in the project's environment."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    line = re.sub(r"\s+#.*$", "", command.strip())
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_monitor_section_commands_run_as_written(bundle_dir: Path, tmp_path: Path) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(bundle_dir, tmp_path / "models/package")
    feedback, load = LABELS.strip().splitlines()
    request_id = re.search(r'"request_id": "(\w+)"', feedback).group(1)
    (tmp_path / "labels.csv").write_text(f"request_id,row_index,actual\n{request_id},0,1\n")
    server = ServerProcess(Path("models/package"), "sqlite:///logs/predictions.sqlite", cwd=tmp_path)
    with server:
        sent = run(feedback.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}"), tmp_path)
        loaded = run(load, tmp_path)  # the same label again, from a file
        server.stop_gracefully()
    assert json.loads(sent.stdout) == {"stored": 1, "unchanged": 0, "unmatched": 1}  # no such prediction
    assert loaded.returncode == 0 and "0 stored, 1 unchanged (already stored), 1 unmatched" in loaded.stderr
    judged = run(MONITOR, tmp_path)  # the log holds no prediction of November 2013
    assert judged.returncode == 2 and "nothing to judge: no predictions logged between 2013-11-01" in judged.stderr
    assert not (tmp_path / "metrics/monitor.json").exists()
