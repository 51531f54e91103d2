"""featurize: fit the feature pipeline on train, transform train and test."""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.pipeline import Pipeline

from lifecycle import paths
from lifecycle.artifacts import FeatureRoles, InterimRoles
from lifecycle.config import load_params
from lifecycle.featurization.featurizer import categorical_outputs, fit_featurizer, input_columns
from lifecycle.stages.runner import run_stage
from lifecycle.storage import read_parquet, write_joblib, write_parquet

logger = logging.getLogger(__name__)


def _matrix(featurizer: Pipeline, rows: pd.DataFrame, columns: list[str], target: str) -> pd.DataFrame:
    matrix = featurizer.transform(rows[columns]).reset_index(drop=True)
    matrix[target] = rows[target].to_numpy()
    return matrix


def main() -> None:
    settings = load_params().featurize
    roles = InterimRoles.read(paths.INTERIM_ROLES)
    train = read_parquet(paths.INTERIM_TRAIN)
    test = read_parquet(paths.INTERIM_TEST)
    columns = input_columns(train, settings, roles.excluded, roles.dropped)
    featurizer = fit_featurizer(train, columns, settings)
    write_parquet(_matrix(featurizer, train, columns, roles.target), paths.FEATURES_TRAIN)
    write_parquet(_matrix(featurizer, test, columns, roles.target), paths.FEATURES_TEST)
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
