"""Shared pieces of the serving tests: the real bundle, raw test rows, a real server process,
and multiclass and regression bundles fitted on scikit-learn's bundled datasets.

Imported by the test_serving* modules (it holds no tests itself).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.model_selection import train_test_split
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from conftest import ROOT, FirstRun, small
from lifecycle.artifacts import BundleMetadata, BundleMetrics, Lineage
from lifecycle.metrics import multiclass as multiclass_metrics, regression as regression_metrics
from lifecycle.packaging.bundle import load_bundle, write_bundle
from lifecycle.config import FeaturizeSettings, TrainSettings
from lifecycle.featurization.featurizer import categorical_outputs, fit_featurizer, input_columns
from lifecycle.packaging.inference import inference_pipeline
from lifecycle.training.fitting import fit_model
from lifecycle.packaging.schema import infer_schema
from lifecycle.tasks.registry import task_named

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def first_run_output(pipeline_run: FirstRun, path: str, target: Path) -> Path:
    """An output of the pipeline's first run, from DVC's cache at that commit.

    Not from the work tree: other end-to-end tests run experiments there (another model).
    """
    pipeline_run.repo.run("dvc", "get", ".", path, "--rev", pipeline_run.commit, "-o", str(target))
    return target


@pytest.fixture(scope="session")
def bundle_dir(pipeline_run: FirstRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundle the real pipeline packaged (the default model)."""
    return first_run_output(pipeline_run, "models/package", tmp_path_factory.mktemp("serving") / "package")


@pytest.fixture(scope="session")
def raw_test(pipeline_run: FirstRun, bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The raw test split, input columns only, as a caller would hold it."""
    path = first_run_output(pipeline_run, "data/interim/test.parquet", tmp_path_factory.mktemp("serving") / "test.parquet")
    return pd.read_parquet(path)[load_bundle(bundle_dir).input_columns]


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a JSON client sends them (null for missing, ISO 8601 times)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


@pytest.fixture(scope="session")
def known_rows(raw_test: pd.DataFrame, bundle_dir: Path) -> list[dict[str, Any]]:
    """Test rows whose categories were all seen in training (valid under the reject policy)."""
    schema = load_bundle(bundle_dir).schema
    known = pd.Series(True, index=raw_test.index)
    for column in schema["columns"]:
        if column["kind"] == "categorical":
            values = raw_test[column["name"]]
            known &= values.isna() | values.isin(column["categories"])
    return json_rows(raw_test[known].head(2000))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_or_skip() -> str:
    """The test PostgreSQL URL, or skip the test with the reason."""
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError as error:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 (database test) is unreachable: {error.orig}")
    return POSTGRES_URL


class ServerProcess:
    """`python -m lifecycle serve` in a subprocess on a free 127.0.0.1 port."""

    def __init__(self, bundle: Path, log_url: str, extra: list[str] | None = None, cwd: Path = ROOT) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lifecycle", "serve", "--bundle", str(bundle), "--port", str(self.port), "--log-url", log_url, *(extra or [])],
            cwd=cwd,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.process.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not answer /health in time")

    def terminate(self, timeout: float = 60) -> tuple[int, str]:
        """SIGTERM, then wait for a graceful exit; returns (exit code, output)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output

    def stop_gracefully(self) -> str:
        """SIGTERM; assert a graceful shutdown (uvicorn re-raises the signal once it is done)."""
        code, output = self.terminate()
        assert code in (0, -signal.SIGTERM), output
        assert "prediction log flushed and closed" in output and "Finished server process" in output, output
        return output

    def __enter__(self) -> ServerProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.terminate()


def drop_table(url: str, table: str) -> None:
    """Remove a test's private prediction-log table from a shared database."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if inspect(connection).has_table(table):
            connection.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


# --- multiclass and regression bundles from scikit-learn's bundled datasets ------------


@dataclass(frozen=True)
class TaskBundle:
    """A packaged bundle of one task and its test rows as a JSON client sends them."""

    task: str
    path: Path
    rows: list[dict[str, Any]]
    categorical: str  # the name of the bundle's categorical input column


def wine_frame() -> tuple[pd.DataFrame, str, str]:
    """The wine data (3 cultivars) with text labels, plus a categorical colour band.

    Returns (frame, target column, categorical column).
    """
    data = load_wine(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["cultivar"] = [str(data.target_names[i]) for i in data.target]
    bands = pd.qcut(frame["color_intensity"], 3, labels=["light", "medium", "dark"])
    frame["colour_band"] = bands.astype(str)
    return frame, "cultivar", "colour_band"


def diabetes_frame() -> tuple[pd.DataFrame, str, str]:
    """The diabetes data (disease progression, a float target) with sex as a category."""
    frame = load_diabetes(as_frame=True).frame
    frame["sex"] = np.where(frame["sex"] > 0, "sex_2", "sex_1")
    return frame, "target", "sex"


def build_task_bundle(target_dir: Path, task: str) -> TaskBundle:
    """Fit and package a real model as the pipeline's stages do: featurize the train split,
    fit a small gradient-boosting model, chain both, infer the schema, score the test
    split, and write the bundle with package's metadata shape."""
    frame, target, categorical = wine_frame() if task == "multiclass" else diabetes_frame()
    stratify = frame[target] if task == "multiclass" else None
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=stratify)
    featurize = FeaturizeSettings(categorical_encoding="ordinal", min_frequency=1)
    columns = input_columns(train, featurize, [target])
    featurizer = fit_featurizer(train, columns, featurize)
    settings = small(TrainSettings(), "hist_gradient_boosting", max_iter=30, early_stopping=False)
    X = featurizer.transform(train[columns])
    model = fit_model(X, train[target], settings, categorical_outputs(featurizer), task_named(task)).model
    pipeline = inference_pipeline(featurizer, model)
    classes = sorted(train[target].unique().tolist(), key=str) if task == "multiclass" else None
    y = test[target].to_numpy()
    scores = task_named(task).model_scores(pipeline, test[columns], classes)
    if task == "multiclass":
        test_metrics = multiclass_metrics.test_metrics(y, scores, classes)
    else:
        test_metrics = regression_metrics.test_metrics(y, scores)
    metadata = BundleMetadata(
        model_version=f"{task}-test",
        target=target,
        task=task,
        classes=classes,
        threshold=None,
        unknown_category="reject",
        rows={"train": len(train), "test": len(test)},
        lineage=Lineage(),
        params={"train": settings.model_dump(mode="json")},
        metrics=BundleMetrics(test=test_metrics, cross_validation={}),
        libraries={},
    )
    schema = infer_schema(train, columns)
    write_bundle(target_dir, pipeline, schema, metadata, f"# Model card: {target} ({task})\n")
    return TaskBundle(task, target_dir, json_rows(test[columns]), categorical)


@pytest.fixture(scope="session")
def multiclass_bundle(tmp_path_factory: pytest.TempPathFactory) -> TaskBundle:
    """A multiclass bundle: three wine cultivars, text labels."""
    return build_task_bundle(tmp_path_factory.mktemp("multiclass") / "package", "multiclass")


@pytest.fixture(scope="session")
def regression_bundle(tmp_path_factory: pytest.TempPathFactory) -> TaskBundle:
    """A regression bundle: diabetes disease progression."""
    return build_task_bundle(tmp_path_factory.mktemp("regression") / "package", "regression")
