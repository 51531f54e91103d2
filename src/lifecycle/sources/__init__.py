"""Collectors: each source kind turns its settings into a data frame.

`read_source` dispatches on the settings class, so a new kind (SQL, HTTP API) is one
settings model in config.py plus one registered reader here; the collect stage does
not change.
"""

from lifecycle.sources.base import read_source, sample_rows
from lifecycle.sources import builtin, files  # noqa: F401  (register their readers)

__all__ = ["read_source", "sample_rows"]
