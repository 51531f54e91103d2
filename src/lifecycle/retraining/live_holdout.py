"""A holdout from live traffic: the log's labelled predictions of one model version in a window.

Why: the challenge scores both models on one file whose md5 it records, and its default
holdout, the newest test split, is past data. Written from the prediction log, the file
holds the inputs the service answered, as validated and logged, with the outcomes that came
back (POST /feedback, `python -m lifecycle labels`) in the bundle's target column, so
`challenge --holdout` judges champion and challenger on today's traffic and still on one
recorded set (track it with `dvc add`). One row per answered row of the bundle's version: a
shadow model's rows (logged under its own version) answer the same inputs, not repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pandas as pd

from lifecycle.config import PredictionLogSettings
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.keyed_labels import keyed_table_name, read_keyed_labels
from lifecycle.monitoring.labels import read_labels
from lifecycle.monitoring.performance import join_labels
from lifecycle.packaging.bundle import Bundle
from lifecycle.serving.prediction_log import read_prediction_log
from lifecycle.storage import write_parquet

logger = logging.getLogger(__name__)


def live_holdout(bundle: Bundle, log: PredictionLogSettings, since: datetime, until: datetime) -> pd.DataFrame:
    """The labelled rows `bundle`'s version answered between `since` and `until`: its input
    columns and its target column holding the labels. Raises LifecycleError when there are none."""
    version = bundle.metadata.model_version
    logged = read_prediction_log(log.url, log.table, since, until)
    window = f"between {since.isoformat()} and {until.isoformat()}"
    answered = logged[logged["model_version"] == version].reset_index(drop=True)
    if answered.empty:
        raise LifecycleError(f"no prediction of model version {version} is logged {window}")
    labels = read_labels(log.url, log.labels_table)
    keyed = read_keyed_labels(log.url, keyed_table_name(log.labels_table))
    kinds = {c["name"]: c["kind"] for c in bundle.schema["columns"]}
    labelled = join_labels(answered, labels, keyed, kinds, bundle.input_columns)
    if labelled.empty:
        raise LifecycleError(
            f"none of the {len(answered)} predictions of model version {version} logged {window} has a label yet "
            "(POST /feedback, python -m lifecycle labels)"
        )
    logger.info(
        "%d of %d predictions of model version %s %s are labelled", len(labelled), len(answered), version, window
    )
    return labelled[bundle.input_columns].assign(**{bundle.metadata.target: labelled["actual"].to_numpy()})


def write_live_holdout(frame: pd.DataFrame, target: Path) -> None:
    """Write the holdout as Parquet (the types as logged), atomically."""
    if target.suffix != ".parquet":
        raise LifecycleError(f"the holdout {target} must be a .parquet file (it keeps each column's type)")
    write_parquet(frame, target)
