"""Shared pieces of the serving tests (a pytest plugin): the bundle the real pipeline
packaged, its raw test rows, a real server process, and bundles of the other tasks that the
package stage wrote for scikit-learn's bundled datasets.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from lifecycle.config import PredictionLogSettings
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import LoggedRequest, PredictionLog
from lifecycle.sources.examples import diabetes_frame, wine_frame
from tests.support.http import free_port
from tests.support.own_data import minimal_params
from tests.support.pipeline import STAGES, FirstRun
from tests.support.project import ROOT
from tests.support.shared import built_once


@pytest.fixture(scope="session")
def bundle_dir(pipeline_run: FirstRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundle the real pipeline packaged (the default model)."""
    copy = tmp_path_factory.mktemp("serving") / "package"
    shutil.copytree(pipeline_run.repo.path / "models/package", copy)
    return copy


@pytest.fixture(scope="session")
def raw_test(pipeline_run: FirstRun, bundle_dir: Path) -> pd.DataFrame:
    """The raw test split, input columns only, as a caller would hold it."""
    return pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet")[load_bundle(bundle_dir).input_columns]


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a JSON client sends them: null for missing, ISO 8601 times, and every float in
    full (`json` writes the shortest text that reads back the same float; pandas' `to_json`
    keeps 10 decimals, which moves a small value across a tree's split)."""
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    floats = frame.select_dtypes("floating").astype(object)
    for record, values in zip(records, floats.to_dict(orient="records")):
        record.update({name: None if pd.isna(value) else value for name, value in values.items()})
    return records


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


def log_predictions(url: str, bundle_dir: Path, flights: pd.DataFrame, version: str | None = None) -> pd.DataFrame:
    """Log the bundle's predictions of `flights` at their scheduled hour, one request per
    flight (request id: the flight's place, as 32 hex digits), through the real writer.
    Returns the flights logged (those the schema accepts)."""
    bundle = load_bundle(bundle_dir)
    answers = bundle.predict(flights[bundle.input_columns].reset_index(drop=True))
    valid = answers["error"].isna().to_numpy()
    flights, answers = flights[valid].reset_index(drop=True), answers[valid].reset_index(drop=True)
    log = PredictionLog(PredictionLogSettings(url=url, flush_seconds=0.01))
    for i, (row, answer, probability, stamp) in enumerate(
        zip(
            json_rows(flights[bundle.input_columns]),
            answers["prediction"].tolist(),
            answers["probability"].tolist(),
            flights["time_hour"],
        )
    ):
        log.append(
            LoggedRequest(
                request_id=f"{i:032x}",
                logged_at=stamp.to_pydatetime(),
                model_version=version or bundle.metadata.model_version,
                endpoint="/predict",
                latency_ms=1.0,
                inputs=[row],
                predictions=[answer],
                unknown_categories=[[]],
                probabilities=[probability],
            )
        )
    log.close()
    return flights


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """The value of the first sample of `name` carrying `labels` in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


SERVE = [sys.executable, "-m", "lifecycle", "serve"]


class ServerProcess:
    """`python -m lifecycle serve` (or `command`, a command line ending in it, such as the
    image's) in a subprocess on a free port of `host` (a loopback address); without a bundle
    or log URL, the ones of params.yaml in `cwd`."""

    def __init__(
        self,
        bundle: Path | None,
        log_url: str | None,
        extra: list[str] | None = None,
        cwd: Path = ROOT,
        host: str = "127.0.0.1",
        command: list[str] = SERVE,
    ) -> None:
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.process = subprocess.Popen(
            [
                *command,
                *([] if bundle is None else ["--bundle", str(bundle)]),
                "--host",
                host,
                "--port",
                str(self.port),
                *([] if log_url is None else ["--log-url", log_url]),
                *(extra or []),
            ],
            cwd=cwd,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Read the output as it comes: the server logs a line per request, and a full pipe
        # nobody reads would block its logging, and with it every request.
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        """Everything the server wrote (all of it once the process has exited)."""
        if self.process.poll() is not None:
            self.reader.join()
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output()}")
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
        self.process.wait(timeout=timeout)
        return self.process.returncode, self.output()

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


# --- multiclass and regression bundles, packaged by the pipeline's stages ---------------


@dataclass(frozen=True)
class TaskBundle:
    """A packaged bundle of one task and its test rows as a JSON client sends them."""

    task: str
    path: Path
    rows: list[dict[str, Any]]
    categorical: str  # the name of the bundle's categorical input column


def package_bundle(folder: Path, frame: pd.DataFrame, target: str, task: str, split: str) -> None:
    """Run every stage of the pipeline, in process, on `frame` in a project folder of its own
    (the bundle is what the package stage wrote to models/package)."""
    (folder / "data/external").mkdir(parents=True)
    frame.to_csv(folder / "data/external/table.csv", index=False)
    source = {"kind": "csv", "path": "data/external/table.csv"}
    target_settings = {"column": target, "name": "label", "task": task}
    params = minimal_params(
        source, target_settings, split, featurize={"categorical_encoding": "ordinal", "min_frequency": 1}
    )
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with contextlib.chdir(folder):
        for stage in STAGES:
            importlib.import_module(f"lifecycle.stages.{stage}").main()


def task_bundle(folder: Path, task: str) -> TaskBundle:
    """The bundle `package_bundle` wrote in `folder`, and its raw test rows as a client sends them."""
    bundle = load_bundle(folder / "models/package")
    test = pd.read_parquet(folder / "data/interim/test.parquet")[bundle.input_columns]
    categorical = next(c["name"] for c in bundle.schema["columns"] if c["kind"] == "categorical")
    return TaskBundle(task, folder / "models/package", json_rows(test), categorical)


@pytest.fixture(scope="session")
def multiclass_bundle(tmp_path_factory: pytest.TempPathFactory) -> TaskBundle:
    """A multiclass bundle: three wine cultivars, text labels."""
    frame, target, _ = wine_frame()
    build = partial(package_bundle, frame=frame, target=target, task="multiclass", split="stratified")
    return task_bundle(built_once(tmp_path_factory, "multiclass", build), "multiclass")


def one_kind_frame(kind: str) -> pd.DataFrame:
    """The wine table with inputs of one kind only: its numbers as they come (`numbers`), or
    each number cut into quartile bands (`categories`)."""
    frame, target, band = wine_frame()
    frame = frame.drop(columns=band)
    if kind == "categories":
        for name in frame.columns.drop(target):
            frame[name] = pd.qcut(frame[name], 4, labels=["q1", "q2", "q3", "q4"], duplicates="drop").astype(str)
    return frame


@pytest.fixture(scope="session", params=["numbers", "categories"])
def one_kind_bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multiclass wine bundle whose inputs are all numbers, or all categories: a
    ColumnTransformer branch that selects no column."""
    build = partial(
        package_bundle, frame=one_kind_frame(request.param), target="cultivar", task="multiclass", split="stratified"
    )
    return built_once(tmp_path_factory, f"wine-{request.param}", build)


@pytest.fixture(scope="session")
def regression_bundle(tmp_path_factory: pytest.TempPathFactory) -> TaskBundle:
    """A regression bundle: diabetes disease progression."""
    frame, target, _ = diabetes_frame()
    build = partial(package_bundle, frame=frame, target=target, task="regression", split="random")
    return task_bundle(built_once(tmp_path_factory, "regression", build), "regression")
