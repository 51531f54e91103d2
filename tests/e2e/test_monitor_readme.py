"""The README's Monitor section works as written, against a real server, a real SQLite file,
PostgreSQL and a paged HTTP API on 127.0.0.1 (only their addresses, and PostgreSQL's table
name in a shared database, differ)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine

from tests.support.own_data import records_api
from tests.support.postgres import drop_table, postgres_url, without_user
from tests.support.project import BIN, ROOT
from tests.support.serving import ServerProcess

SECTION = (ROOT / "README.md").read_text().split("## Monitor\n", 1)[1].split("\n## ", 1)[0]
FEEDBACK, LABELS, MONITOR = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S)
BY_ID, BY_KEY = FEEDBACK.strip().splitlines()
FROM_FILE, FROM_SQLITE, FROM_POSTGRES, FROM_API = LABELS.strip().splitlines()
REQUEST_ID = re.search(r'"request_id": "(\w+)"', BY_ID).group(1)
KEYED = json.loads(re.search(r"-d '(\{.*\})'", BY_KEY).group(1))  # the key's columns and actual
README_API = "127.0.0.1:9000"


def run(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A README command (its comment dropped) in the project's environment."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    line = re.sub(r"\s+#.*$", "", command.strip())
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def project(bundle_dir: Path, tmp_path: Path) -> None:
    """A folder laid out like the project: params.yaml and the default bundle path."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(bundle_dir, tmp_path / "models/package")


def test_monitor_section_commands_run_as_written(bundle_dir: Path, tmp_path: Path) -> None:
    project(bundle_dir, tmp_path)
    (tmp_path / "labels.csv").write_text(f"request_id,row_index,actual\n{REQUEST_ID},0,1\n")
    engine = create_engine(f"sqlite:///{tmp_path / 'outcomes.sqlite'}")
    pd.DataFrame([KEYED]).to_sql("arrivals", engine, index=False)  # the keyed label again, from a database
    engine.dispose()
    server = ServerProcess(Path("models/package"), "sqlite:///logs/predictions.sqlite", cwd=tmp_path)
    with server, records_api([{"request_id": REQUEST_ID, "row_index": 0, "actual": 1}]) as api:
        port = f"127.0.0.1:{server.port}"
        by_id, by_key = (run(line.replace("127.0.0.1:8000", port), tmp_path) for line in (BY_ID, BY_KEY))
        from_file, from_sqlite = run(FROM_FILE, tmp_path), run(FROM_SQLITE, tmp_path)
        from_api = run(FROM_API.replace(README_API, api.url.removeprefix("http://")), tmp_path)
        server.stop_gracefully()
    unmatched = {"stored": 1, "unchanged": 0, "unmatched": 1}  # no such prediction, no such flight
    assert json.loads(by_id.stdout) == json.loads(by_key.stdout) == unmatched
    for loaded in (from_file, from_sqlite, from_api):  # the same labels again
        assert loaded.returncode == 0 and "0 stored, 1 unchanged (already stored), 1 unmatched" in loaded.stderr
    assert api.hits["/records"] == 2  # the page, then the empty one that ends the table
    judged = run(MONITOR, tmp_path)  # the log holds no prediction of November 2013
    assert judged.returncode == 2 and "nothing to judge: no predictions logged between 2013-11-01" in judged.stderr
    assert not (tmp_path / "metrics/monitor.json").exists()


def test_monitor_section_postgresql_labels_run_as_written(bundle_dir: Path, tmp_path: Path) -> None:
    database = postgres_url()
    bare, user = without_user(database)
    table = f"arrivals_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database)
    pd.DataFrame([KEYED]).to_sql(table, engine, index=False)
    engine.dispose()
    project(bundle_dir, tmp_path)
    command = FROM_POSTGRES.replace("postgresql+psycopg://127.0.0.1:5432/test", bare).replace(" arrivals", f" {table}")
    try:
        loaded = run(command, tmp_path, PGUSER=user or "")
    finally:
        drop_table(database, table)
    assert loaded.returncode == 0, loaded.stderr
    assert "1 stored, 0 unchanged (already stored), 1 unmatched" in loaded.stderr
