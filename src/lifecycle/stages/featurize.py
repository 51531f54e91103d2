"""featurize: fit the feature pipeline on train, transform train and test.

The featurizer is fitted on a seeded sample of `featurize.fit_max_rows` train rows (all
of them below that), the same rows under either engine. Under engine dask only that
sample is read into this process, part by part; the cluster's workers transform the
partitions and write the matrices as folders of Parquet parts.
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.pipeline import Pipeline

from lifecycle import paths
from lifecycle.artifacts import FeatureRoles, InterimRoles
from lifecycle.cluster import dask_client
from lifecycle.config import FeaturizeSettings, load_params
from lifecycle.featurization.featurizer import categorical_outputs, feature_matrix, fit_featurizer, input_columns
from lifecycle.featurization.partitioned import featurize_partitioned
from lifecycle.partitions import partitions_of, write_partitioned
from lifecycle.sampling import read_sample, sample_rows
from lifecycle.stages.runner import run_stage
from lifecycle.storage import read_parquet, write_joblib, write_parquet

logger = logging.getLogger(__name__)


def _fit(rows: pd.DataFrame, settings: FeaturizeSettings, roles: InterimRoles) -> tuple[Pipeline, list[str]]:
    columns = input_columns(rows, settings, roles.excluded, roles.dropped)
    featurizer = fit_featurizer(rows, columns, settings)
    logger.info("featurizer fitted on %s train rows", f"{len(rows):,}")
    return featurizer, columns


def main() -> None:
    params = load_params()
    settings = params.featurize
    roles = InterimRoles.read(paths.INTERIM_ROLES)
    if params.engine.name == "pandas":
        train = read_parquet(paths.INTERIM_TRAIN)
        featurizer, columns = _fit(sample_rows(train, settings.fit_max_rows, settings.seed), settings, roles)
        write_parquet(feature_matrix(featurizer, train, columns, roles.target), paths.FEATURES_TRAIN)
        test = read_parquet(paths.INTERIM_TEST)
        write_parquet(feature_matrix(featurizer, test, columns, roles.target), paths.FEATURES_TEST)
    else:
        sample = read_sample(paths.INTERIM_TRAIN, settings.fit_max_rows, settings.seed)
        featurizer, columns = _fit(sample, settings, roles)
        like = sample.iloc[:1].copy()  # the workers read their own parts: free the sample
        del sample
        with dask_client(params.engine):
            for interim, features in (
                (paths.INTERIM_TRAIN, paths.FEATURES_TRAIN),
                (paths.INTERIM_TEST, paths.FEATURES_TEST),
            ):
                parts = partitions_of(interim)
                write_partitioned(featurize_partitioned(featurizer, parts, like, columns, roles.target), features)
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
