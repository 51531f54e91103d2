"""The dask engine's cluster: the scheduler it picks, one message when it cannot be reached,
and a worker dying mid-write leaves nothing half-written (a rerun succeeds)."""

from __future__ import annotations

import os
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

from lifecycle.cluster import SCHEDULER_ENV, dask_client, scheduler_address
from lifecycle.config import EngineSettings
from lifecycle.errors import LifecycleError
from lifecycle.partitions import write_partitioned
from lifecycle.storage import read_parquet
from tests.support.http import free_port


def test_the_scheduler_comes_from_params_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert scheduler_address(EngineSettings(name="dask")) is None
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://10.0.0.2:8786")
    assert scheduler_address(EngineSettings(name="dask")) == "tcp://10.0.0.2:8786"
    assert scheduler_address(EngineSettings(name="dask", scheduler="tcp://10.0.0.3:8786")) == "tcp://10.0.0.3:8786"


def test_an_unreachable_scheduler_is_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # a closed port
    monkeypatch.setenv(SCHEDULER_ENV, address)
    with pytest.raises(LifecycleError, match=f"the Dask scheduler at {address} is unreachable"):
        with dask_client(EngineSettings(name="dask")):
            pytest.fail("connected to a closed port")


def _die_on_first(part: pd.DataFrame) -> pd.DataFrame:
    if part["x"].iloc[0] == 0:
        os._exit(1)  # a worker killed mid-stage (out of memory, preempted)
    return part


def test_a_worker_killed_mid_write_leaves_nothing_and_a_rerun_succeeds(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(10)})
    target = tmp_path / "table.parquet"
    engine = EngineSettings(name="dask", workers=1, memory_limit="1GB")
    rows = dd.from_pandas(frame, npartitions=2)
    # the scheduler gives up on a task at the first worker death, not after retries
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with pytest.raises(LifecycleError, match="a Dask worker died while running .*nothing was written"):
            with dask_client(engine):
                write_partitioned(rows.map_partitions(_die_on_first), target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary folder left behind either
    with dask_client(engine):
        write_partitioned(rows, target)
    pd.testing.assert_frame_equal(read_parquet(target), frame)
