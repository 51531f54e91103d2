"""Collectors: each source kind turns its settings into a data frame.

Kinds: `builtin` (a packaged table), `csv` / `parquet` / `jsonl` (a local path or an
http(s) URL), `sql` (a table or query through SQLAlchemy) and `http_api` (paged JSON).
`read_source` dispatches on the settings class, so a new kind is one settings model in
config.py plus one registered reader here; the collect stage does not change.
"""

from lifecycle.sources.base import read_source, sample_rows
from lifecycle.sources import builtin, files, http_api, sql  # noqa: F401  (register their readers)

__all__ = ["read_source", "sample_rows"]
