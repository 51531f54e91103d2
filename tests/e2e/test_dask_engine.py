"""The stages under engine dask, run as `dvc repro` runs them: the pandas engine's outputs
from a sample of the real flights, and one line with exit code 1 for a bad engine or an
unreachable scheduler."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from lifecycle.cluster import SCHEDULER_ENV
from lifecycle.config import parse_source
from lifecycle.sources.registry import read_source
from tests.support.http import free_port
from tests.support.project import BIN, ROOT

STAGES = ("collect", "preprocess", "featurize")
TABLES = [
    "data/raw/flights.parquet",
    "data/raw/weather.parquet",
    "data/interim/train.parquet",
    "data/interim/test.parquet",
    "data/features/train.parquet",
    "data/features/test.parquet",
]
SAME_BYTES = [
    "data/interim/roles.json",
    "data/features/roles.json",
    "metrics/collect.json",
    "metrics/preprocess.json",
    "reports/validation.json",
    "models/featurizer.joblib",
]


# Fewer than the sample's train rows: both engines fit the featurizer on the same seeded
# sample, the dask engine reading it part by part.
FIT_ROWS = 3000


def folder_with(path: Path, engine: dict[str, Any]) -> Path:
    """`path` holding the project's params.yaml with 6,000 flights, the weather read from a
    Parquet file in the folder (which the dask engine copies batch by batch; the packaged
    flights and planes it reads whole), the featurizer fitted on a sample and `engine` set."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["sources"]["flights"]["sample_rows"] = 6000
    path.mkdir()
    weather = read_source(parse_source(params["sources"]["weather"], "sources.weather"))
    weather.to_parquet(path / "weather.parquet", index=False, row_group_size=5000)
    params["sources"]["weather"] = {"kind": "parquet", "path": "weather.parquet"}
    params["featurize"]["fit_max_rows"] = FIT_ROWS
    params["engine"].update(engine)
    (path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return path


def run_stage(folder: Path, stage: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    env.pop(SCHEDULER_ENV, None)
    command = [sys.executable, "-m", f"lifecycle.stages.{stage}"]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)


def test_the_dask_engine_writes_the_pandas_engine_s_outputs_as_parts(tmp_path: Path) -> None:
    pandas = folder_with(tmp_path / "pandas", {"name": "pandas"})
    dask = folder_with(tmp_path / "dask", {"name": "dask", "workers": 2, "memory_limit": "1GB", "partition_rows": 1000})
    for stage in STAGES:
        for folder in (pandas, dask):
            done = run_stage(folder, stage)
            assert done.returncode == 0, done.stderr
            assert stage != "featurize" or f"featurizer fitted on {FIT_ROWS:,} train rows" in done.stderr
            streamed = "weather: weather.parquet copied batch by batch" in done.stderr
            assert streamed == (stage == "collect" and folder == dask), done.stderr
    assert len(list((dask / "data/raw/flights.parquet").iterdir())) == 6
    assert len(list((dask / "data/raw/weather.parquet").iterdir())) == 27  # 26,115 hours
    for table in TABLES:
        assert (pandas / table).is_file() and (dask / table).is_dir()
        pd.testing.assert_frame_equal(pd.read_parquet(dask / table), pd.read_parquet(pandas / table), check_exact=True)
    for name in SAME_BYTES:
        assert (dask / name).read_bytes() == (pandas / name).read_bytes(), name


@pytest.mark.parametrize(
    ("engine", "stage", "message"),
    [
        ({"name": "spark"}, "collect", "invalid params: engine.name: Input should be 'pandas' or 'dask'"),
        (  # collect needs no cluster (this process reads the sources and writes their parts)
            {"name": "dask", "scheduler": "tcp://127.0.0.1:{port}"},
            "preprocess",
            "the Dask scheduler at tcp://127.0.0.1:{port} is unreachable",
        ),
    ],
    ids=["unknown-engine", "unreachable-scheduler"],
)
def test_a_bad_engine_stops_the_stage_with_one_line(
    tmp_path: Path, engine: dict[str, str], stage: str, message: str
) -> None:
    port = free_port()  # nothing listens there
    folder = folder_with(tmp_path / "run", {key: value.format(port=port) for key, value in engine.items()})
    for ran in STAGES:
        done = run_stage(folder, ran)
        if done.returncode != 0:
            break
    assert (ran, done.returncode) == (stage, 1)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(port=port) in lines[0], done.stderr
    assert not (folder / "data/interim").exists()
