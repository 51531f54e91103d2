"""Every source kind's reader, registered with `read_source`.

Kinds: `builtin` (a packaged table), `csv` / `parquet` / `jsonl` (a local path or an
http(s) URL), `sql` (a table or query through SQLAlchemy) and `http_api` (paged JSON).
`read_source` dispatches on the settings class, so a new kind is one settings model in
config.py plus one reader module registered here; the collect stage does not change.
"""

from lifecycle.sources import builtin, files, http_api, sql  # noqa: F401  (register their readers)
from lifecycle.sources.base import read_source

__all__ = ["read_source"]
