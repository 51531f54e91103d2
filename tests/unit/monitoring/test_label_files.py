"""`python -m lifecycle labels` from every source kind collect reads, against real parts: a
SQLite database, PostgreSQL, a paged HTTP API on 127.0.0.1. The real test flights are logged
with the packaged model's predictions; their real outcomes come back by the flights key of
params.yaml or by request id, and the monitor then computes live performance on them."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine

from lifecycle.__main__ import main
from lifecycle.config import PredictionLogSettings, load_params
from lifecycle.monitoring.keyed_labels import read_keyed_labels
from lifecycle.monitoring.labels import read_labels
from lifecycle.monitoring.monitor import run_monitor
from lifecycle.packaging.bundle import load_bundle
from tests.support.own_data import json_records, records_api
from tests.support.pipeline import FirstRun
from tests.support.postgres import drop_table, postgres_url, without_user
from tests.support.project import ROOT
from tests.support.serving import log_predictions

pytestmark = pytest.mark.e2e

SINCE, UNTIL = datetime(2013, 11, 1), datetime(2013, 11, 8)
KEY = load_params(ROOT / "params.yaml").serve.log.labels_key


@pytest.fixture(scope="module")
def flights(pipeline_run: FirstRun) -> pd.DataFrame:
    """The real test flights of the first November week; flights sharing a key are left out
    (the schedule does not tell them apart: their labels would conflict)."""
    test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet")
    week = test[test["time_hour"] < pd.Timestamp(UNTIL, tz="UTC")]
    return week.drop_duplicates(KEY, keep=False).sort_values("time_hour").reset_index(drop=True)


@pytest.fixture()
def logged(bundle_dir: Path, flights: pd.DataFrame, tmp_path: Path) -> tuple[str, pd.DataFrame]:
    """(log URL, the flights logged with the model's predictions), no label yet."""
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    return url, log_predictions(url, bundle_dir, flights)


def outcomes(bundle_dir: Path, flights: pd.DataFrame, by: str) -> pd.DataFrame:
    """The flights' real outcomes as a labels source holds them: by key or by request id."""
    bundle = load_bundle(bundle_dir)
    actual = [bundle.classes[int(v)] for v in flights[bundle.metadata.target]]
    if by == "key":
        return flights[KEY].assign(actual=actual)
    return pd.DataFrame({"request_id": [f"{i:032x}" for i in range(len(flights))], "row_index": 0, "actual": actual})


def load(bundle_dir: Path, url: str, source: str) -> int:
    return main(["labels", "--bundle", str(bundle_dir), "--log-url", url, "--source", source])


def live(bundle_dir: Path, url: str) -> dict:
    """The monitor's live performance on the window."""
    result = run_monitor(bundle_dir, PredictionLogSettings(url=url), SINCE, UNTIL, load_params().monitor)
    return result.as_json()["performance"]


def block(source: dict) -> str:
    return json.dumps(source)  # JSON is YAML: a source block as `sources:` takes it


@pytest.mark.parametrize("by", ["key", "request_id"])
def test_labels_from_a_sqlite_database_reach_the_monitor(
    by: str, bundle_dir: Path, logged: tuple[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, flights = logged
    database = tmp_path / "outcomes.sqlite"
    engine = create_engine(f"sqlite:///{database}")
    outcomes(bundle_dir, flights, by).to_sql("arrivals", engine, index=False)
    engine.dispose()
    source = block({"kind": "sql", "url": f"sqlite:///{database}", "query": "SELECT * FROM arrivals"})
    assert load(bundle_dir, url, source) == 0
    assert f"{len(flights)} stored, 0 unchanged (already stored), 0 unmatched" in capsys.readouterr().err
    assert load(bundle_dir, url, source) == 0  # again: nothing changes
    assert f"0 stored, {len(flights)} unchanged" in capsys.readouterr().err
    stored = read_keyed_labels(url, "labels_by_key") if by == "key" else read_labels(url)
    assert len(stored) == len(flights)
    performance = live(bundle_dir, url)
    assert performance["labelled"] == performance["predictions"] == len(flights)
    assert performance["overall"]["value"] is not None


def test_labels_by_key_from_postgresql_reach_the_monitor(
    bundle_dir: Path,
    logged: tuple[str, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, flights = logged
    database = postgres_url()
    table = f"arrivals_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database)
    outcomes(bundle_dir, flights, "key").to_sql(table, engine, index=False)
    engine.dispose()
    bare, user = without_user(database)
    monkeypatch.setenv("LABELS_DB_USER", user or "")
    try:
        source = block({"kind": "sql", "url": bare, "user_env": "LABELS_DB_USER", "table": table})
        assert load(bundle_dir, url, source) == 0
    finally:
        drop_table(database, table)
    assert f"{len(flights)} stored, 0 unchanged (already stored), 0 unmatched" in capsys.readouterr().err
    assert live(bundle_dir, url)["labelled"] == len(flights)


@pytest.mark.parametrize("by", ["key", "request_id"])
def test_labels_from_a_paged_http_api_reach_the_monitor(
    by: str, bundle_dir: Path, logged: tuple[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    url, flights = logged
    with records_api(json_records(outcomes(bundle_dir, flights, by))) as api:
        source = {"kind": "http_api", "url": f"{api.url}/records", "records_path": "data", "pagination": "page"}
        assert load(bundle_dir, url, block({**source, "page_size": 40, "backoff_seconds": 0})) == 0
        pages = api.hits["/records"]
    assert pages == math.ceil(len(flights) / 40) + 1  # every page, then the empty one that ends the table
    assert f"{len(flights)} stored, 0 unchanged (already stored), 0 unmatched" in capsys.readouterr().err
    assert live(bundle_dir, url)["labelled"] == len(flights)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda table: table.drop(columns="actual"), "has no column `actual` (the outcome)"),
        (
            lambda table: table.drop(columns="carrier"),
            "has neither request_id and row_index nor the key column(s) ['carrier']",
        ),
        (
            lambda table: table.assign(month=table["month"].astype(str)),
            "key value(s) are not as the bundle's schema types them, none stored: row 1: month: "
            "Input should be a valid number",
        ),
    ],
    ids=["no actual", "key column missing", "key value of the wrong type"],
)
def test_a_source_that_is_not_labels_is_refused_with_one_message(
    change: object,
    message: str,
    bundle_dir: Path,
    logged: tuple[str, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, flights = logged
    path = tmp_path / "arrivals.parquet"
    change(outcomes(bundle_dir, flights, "key")).to_parquet(path)  # type: ignore[operator]
    assert load(bundle_dir, url, str(path)) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and message in errors[0], errors
    assert read_keyed_labels(url, "labels_by_key").empty


def test_a_key_that_is_not_an_input_of_the_bundle_is_refused(
    bundle_dir: Path,
    logged: tuple[str, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The flight number identifies a flight, but the model does not take it as an input."""
    url, flights = logged
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["serve"]["log"]["labels_key"] = [*KEY, "flight"]
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    path = tmp_path / "arrivals.csv"
    outcomes(bundle_dir, flights, "key").assign(flight=flights["flight"]).to_csv(path, index=False)
    monkeypatch.chdir(folder)
    assert load(bundle_dir, url, str(path)) == 1
    assert (
        "serve.log.labels_key names ['flight'], not input column(s) of the bundle's schema" in capsys.readouterr().err
    )
