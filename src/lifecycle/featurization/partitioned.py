"""featurize's transform on a Dask cluster: the featurizer fitted on the train split (whole,
as under pandas) is applied to each partition by its workers.

Every step of the fitted pipeline transforms a row on its own (imputed with the train
median, scaled by the train mean and scale, encoded by the train categories), so the
parts concatenate to the pandas engine's matrix, value for value.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import pandas as pd
from dask.delayed import Delayed
from sklearn.pipeline import Pipeline

from lifecycle.featurization.featurizer import feature_matrix
from lifecycle.partitions import PANDAS_DTYPES


def _matrix_of(rows: pd.DataFrame, featurizer: Pipeline, columns: list[str], target: str) -> pd.DataFrame:
    return feature_matrix(featurizer, rows, columns, target)  # map_partitions passes the rows first


def featurize_partitioned(
    featurizer: Pipeline, parts: list[Delayed], like: pd.DataFrame, columns: list[str], target: str
) -> dd.DataFrame:
    """The model matrix of every partition in `parts`, whose rows look like `like`'s."""
    meta = feature_matrix(featurizer, like.head(1), columns, target).iloc[:0]
    with dask.config.set(PANDAS_DTYPES):
        rows = dd.from_delayed(parts, meta=like.iloc[:0], verify_meta=False)
        return rows.map_partitions(_matrix_of, featurizer, columns, target, meta=meta)
