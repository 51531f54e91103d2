"""A table or query of a database, read with pandas through SQLAlchemy.

Credentials come only from environment variables (named in params), so neither
params.yaml nor any message ever holds a password.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from lifecycle.config import SqlSource
from lifecycle.errors import LifecycleError
from lifecycle.sources.base import read_source


def _env(name: str, role: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise LifecycleError(f"sql source: environment variable {name} (named by `{role}`) is not set")
    return value


def _url(settings: SqlSource) -> URL:
    """The params URL with the credentials from the environment filled in."""
    try:
        url = make_url(settings.url)
    except ArgumentError:
        raise LifecycleError(f"sql source: {settings.url!r} is not a database URL") from None
    if settings.user_env is not None:
        url = url.set(username=_env(settings.user_env, "user_env"))
    if settings.password_env is not None:
        url = url.set(password=_env(settings.password_env, "password_env"))
    return url


def _describe(url: URL) -> str:
    """The database as messages name it: backend, host and database, never credentials."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite database {url.database}"
    where = url.host or "localhost"
    if url.port is not None:
        where = f"{where}:{url.port}"
    return f"{url.get_backend_name()} database {url.database!r} at {where}"


def _scrubbed(message: str, url: URL) -> str:
    """A driver's message with the password blanked out, in case the driver echoed it."""
    return message.replace(url.password, "***") if url.password else message


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_file():  # sqlite would silently create an empty file
            raise LifecycleError(f"sql source: database file not found: {url.database}")
    try:
        return create_engine(url)
    except NoSuchModuleError:
        raise LifecycleError(f"sql source: no SQLAlchemy dialect for {url.drivername!r}") from None


def _connect(engine: Engine, url: URL) -> Connection:
    try:
        return engine.connect()
    except DBAPIError as error:
        reason = _scrubbed(str(error.orig).strip(), url)
        raise LifecycleError(f"cannot connect to {_describe(url)}: {reason}") from None


def _read(connection: Connection, settings: SqlSource, url: URL) -> pd.DataFrame:
    if settings.table is not None:
        tables = inspect(connection).get_table_names()
        if settings.table not in tables:
            raise LifecycleError(f"{_describe(url)} has no table {settings.table!r}; it has {sorted(tables)}")
        return pd.read_sql_table(settings.table, connection)
    try:
        return pd.read_sql(text(settings.query), connection)
    except pd.errors.DatabaseError as error:  # pandas wraps the driver's error
        cause = error.__cause__
        reason = str(cause.orig if isinstance(cause, DBAPIError) else error).strip()
        raise LifecycleError(f"sql source: the query failed on {_describe(url)}: {_scrubbed(reason, url)}") from None


@read_source.register
def _(settings: SqlSource) -> pd.DataFrame:
    url = _url(settings)
    engine = _engine(url)
    try:
        with _connect(engine, url) as connection:
            return _read(connection, settings, url)
    finally:
        engine.dispose()
