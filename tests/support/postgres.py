"""The PostgreSQL server the SQL tests use: skipped only where none listens, required in CI.

A server that listens but refuses the connection (a wrong password, a missing database)
fails the test: that is a broken setup to fix, not an absent optional service. With
`CI=true` a missing server fails too, since CI starts one (.ci/run, the GitHub workflow).
`LIFECYCLE_TEST_POSTGRES_URL` points the tests at another server.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from tests.support.services import listening, unavailable

POSTGRES_URL = os.environ.get("LIFECYCLE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_url() -> str:
    """The test database URL, once its server is known to listen (else skip, or fail in CI)."""
    url = make_url(POSTGRES_URL)
    host, port = url.host or "127.0.0.1", url.port or 5432
    if not listening(host, port):
        unavailable(
            f"no PostgreSQL server listens on {host}:{port}",
            "one (.ci/run starts it)",
            "start one, or set LIFECYCLE_TEST_POSTGRES_URL, to run this test",
        )
    return POSTGRES_URL


def without_user(url: str) -> tuple[str, str | None]:
    """The URL with no user name in it (as params.yaml must write it), and that user name."""
    parsed = make_url(url)
    bare = URL.create(
        parsed.drivername, host=parsed.host, port=parsed.port, database=parsed.database, query=parsed.query
    )
    return bare.render_as_string(hide_password=False), parsed.username


def drop_table(url: str, table: str) -> None:
    """Remove a test's private table from a shared database."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if inspect(connection).has_table(table):
            connection.execute(text(f"DROP TABLE {table}"))
    engine.dispose()
