"""Real DVC repositories holding a copy of the project, for the end-to-end tests.

`make_pipeline_repo` copies the project into a fresh git repository and samples the data;
the session's `pipeline_run` reproduces it once. A test that changes a repository (params,
outputs, experiments) works on its own `clone_run`: a git clone at the first run's commit
sharing its DVC cache, so it starts from the first run's outputs without recomputing
them, and no test sees what another did.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.project import BIN, ROOT, project_files

E2E_PARAMS = {
    ("sources", "flights", "sample_rows"): 20000,
    ("train", "cv_folds"): 2,
    ("train", "hist_gradient_boosting", "max_iter"): 60,
    ("train", "hist_gradient_boosting", "min_samples_leaf"): 100,  # the default suits 270k rows
    ("train", "random_forest", "n_estimators"): 20,  # the README's experiment switches to it
    ("train", "random_forest", "max_depth"): 8,
    ("train", "learning_curve", "rows"): 5000,
    ("evaluate", "importance_rows"): 1000,
    ("evaluate", "importance_repeats"): 2,
}
STAGES = ["collect", "preprocess", "featurize", "search", "train", "evaluate", "package"]
_NOT_COPIED = ("dvc.lock", "metrics/", "tests/", "bench/", "reports/", "data/", "models/")
_COPIED_DATA = "data/external/"  # git-tracked: the folder of local sources collect depends on


class PipelineRepo:
    """A temporary git + DVC repository holding a copy of the project's tracked files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(path / "src"),
            "GIT_AUTHOR_NAME": "pipeline test",
            "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "pipeline test",
            "GIT_COMMITTER_EMAIL": "test@example.invalid",
            "DVC_NO_ANALYTICS": "1",
            # one thread per stage: the workers of `make test` already keep every core busy
            "OMP_NUM_THREADS": "1",
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

    def head(self) -> str:
        return self.run("git", "rev-parse", "HEAD").stdout.strip()

    def read_json(self, relative: str) -> dict:
        return json.loads((self.path / relative).read_text())


def make_pipeline_repo(path: Path) -> PipelineRepo:
    """Copy the project into `path`, sample the data, `git init` and commit."""
    for name in project_files():
        if name.startswith(_NOT_COPIED) and not name.startswith(_COPIED_DATA):
            continue
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, path / name)
    repo = PipelineRepo(path)
    repo.set_params(E2E_PARAMS)
    repo.run("git", "init", "-q", "-b", "main")
    repo.commit("project copy")
    return repo


@dataclass
class FirstRun:
    """What the first `dvc repro` of the session's repository did and left (never changed
    after: tests that change a repository work on a `clone_run`)."""

    repo: PipelineRepo
    stages: list[str]
    lock: str
    commit: str


@dataclass
class SecondRun:
    """A commit after the first run's (`base`) that changed one train param and reran what
    that change made stale (`stages`, without the run cache, which the clones share)."""

    repo: PipelineRepo
    base: str
    stages: list[str]


SECOND_RUN_PARAMS = {("train", "hist_gradient_boosting", "learning_rate"): 0.3}


def clone_run(run: FirstRun, path: Path) -> PipelineRepo:
    """A repository of its own at the first run's commit, with the first run's outputs
    checked out from the shared DVC cache (nothing is recomputed)."""
    subprocess.run(["git", "clone", "-q", str(run.repo.path), str(path)], check=True, capture_output=True)
    clone = PipelineRepo(path)
    clone.run("dvc", "cache", "dir", str(run.repo.path / ".dvc" / "cache"), "--local")
    clone.run("dvc", "checkout", "-q")
    return clone
