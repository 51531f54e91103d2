"""The README's Serve section works as written, against a real server (only the port differs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.project import BIN, ROOT
from tests.support.serving import ServerProcess

SECTION = (ROOT / "README.md").read_text().split("## Serve\n", 1)[1].split("\n## ", 1)[0]
START, CURLS, READ_LOG = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S)


def run(command: str, cwd: Path) -> str:
    """A README command in the project's environment (its python and tools first on PATH)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_serve_section_commands_run_as_written(bundle_dir: Path, tmp_path: Path) -> None:
    assert START.split("#")[0].split() == ["make", "serve"]
    assert "python -m lifecycle serve" in START and "make serve" in SECTION
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(bundle_dir, tmp_path / "models/package")
    # `python -m lifecycle serve` in a folder laid out like the project: default bundle and log paths.
    server = ServerProcess(Path("models/package"), "sqlite:///logs/predictions.sqlite", cwd=tmp_path)
    outputs = []
    with server:
        for command in CURLS.strip().splitlines():
            outputs.append(run(command.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}"), tmp_path))
        server.stop_gracefully()
    health, ready, predicted, invoked, refused, metrics = outputs
    assert json.loads(health) == {"status": "alive"}
    assert json.loads(ready)["status"] == "ready"
    assert len(json.loads(predicted)["predictions"]) == 1
    assert len(json.loads(invoked)["predictions"]) == 1
    problems = {(p["field"], p["type"]) for p in json.loads(refused)["problems"]}
    assert {("colour", "extra_forbidden"), ("carrier", "literal_error"), ("origin", "missing")} <= problems
    assert metrics.strip().endswith(" 2.0")
    log = run(READ_LOG.strip(), tmp_path)
    assert "[2 rows x " in log and "18.9" in log  # both predictions, input columns included
