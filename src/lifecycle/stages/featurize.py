"""featurize: fit the feature pipeline on train, transform train and test.

Under engine dask the featurizer is fitted as under pandas, on the whole train split in
this process; the cluster's workers transform the partitions and write the matrices as
folders of Parquet parts.
"""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.artifacts import FeatureRoles, InterimRoles
from lifecycle.cluster import dask_client
from lifecycle.config import load_params
from lifecycle.featurization.featurizer import categorical_outputs, feature_matrix, fit_featurizer, input_columns
from lifecycle.featurization.partitioned import featurize_partitioned
from lifecycle.partitions import partitions_of, write_partitioned
from lifecycle.stages.runner import run_stage
from lifecycle.storage import read_parquet, write_joblib, write_parquet

logger = logging.getLogger(__name__)


def main() -> None:
    params = load_params()
    settings = params.featurize
    roles = InterimRoles.read(paths.INTERIM_ROLES)
    train = read_parquet(paths.INTERIM_TRAIN)
    columns = input_columns(train, settings, roles.excluded, roles.dropped)
    featurizer = fit_featurizer(train, columns, settings)
    if params.engine.name == "pandas":
        write_parquet(feature_matrix(featurizer, train, columns, roles.target), paths.FEATURES_TRAIN)
        test = read_parquet(paths.INTERIM_TEST)
        write_parquet(feature_matrix(featurizer, test, columns, roles.target), paths.FEATURES_TEST)
    else:
        with dask_client(params.engine):
            for interim, features in (
                (paths.INTERIM_TRAIN, paths.FEATURES_TRAIN),
                (paths.INTERIM_TEST, paths.FEATURES_TEST),
            ):
                parts = partitions_of(interim)
                write_partitioned(featurize_partitioned(featurizer, parts, train, columns, roles.target), features)
    write_joblib(featurizer, paths.FEATURIZER)
    outputs = [str(name) for name in featurizer.get_feature_names_out()]
    FeatureRoles(
        target=roles.target,
        task=roles.task,
        classes=roles.classes,
        split=roles.split,
        inputs=columns,
        roles={c: roles.columns[c] for c in columns},
        outputs=outputs,
        categorical_outputs=categorical_outputs(featurizer),
    ).write(paths.FEATURE_ROLES)
    logger.info("%d input columns -> %d features", len(columns), len(outputs))


if __name__ == "__main__":
    run_stage(main)
