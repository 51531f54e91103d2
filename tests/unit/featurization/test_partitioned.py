"""The dask engine's featurize: each partition transformed by the featurizer fitted on the
whole train split gives the pandas engine's matrix, value for value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lifecycle.artifacts import InterimRoles
from lifecycle.config import EngineSettings
from lifecycle.featurization.featurizer import feature_matrix
from lifecycle.featurization.partitioned import featurize_partitioned
from lifecycle.partitions import partitions_of, write_partitioned, write_table
from lifecycle.storage import read_parquet
from tests.support.samples import Featurized, Interim


def test_the_partitioned_matrix_equals_the_pandas_engine(
    interim: Interim, featurized: Featurized, roles: InterimRoles, dask_engine: EngineSettings, tmp_path: Path
) -> None:
    train = interim[0]
    write_table(train, tmp_path / "interim.parquet", dask_engine)
    parts = partitions_of(tmp_path / "interim.parquet")
    assert len(parts) > 5
    matrix = featurize_partitioned(featurized.featurizer, parts, train, featurized.columns, roles.target)
    write_partitioned(matrix, tmp_path / "features.parquet")
    expected = feature_matrix(featurized.featurizer, train, featurized.columns, roles.target)
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "features.parquet"), expected, check_exact=True)
