"""The compiled fast path gives exactly the packaged pipeline's predictions (one inference pipeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from lifecycle.config import PredictionLogSettings, ServeSettings
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.app import create_app
from lifecycle.serving.fast_path import _DATETIME_PARTS, _datetime_part_column, compile_fast_path
from lifecycle.serving.request_model import RowValidator
from tests.support.serving import json_rows

pytestmark = pytest.mark.e2e


def test_fast_path_equals_the_pipeline_on_the_whole_test_split(bundle_dir: Path, raw_test: pd.DataFrame) -> None:
    """Bit-for-bit equal probabilities, one row at a time and in one batch, unseen categories included."""
    bundle = load_bundle(bundle_dir)
    fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
    assert fast is not None
    validator = RowValidator(bundle.schema, "accept", max_rows=len(raw_test))
    rows = validator.from_python(json_rows(raw_test))  # exactly what the service scores
    expected = bundle.predict(raw_test, unknown_category="accept")
    assert expected["error"].isna().all()
    batch = fast.scores(rows)
    np.testing.assert_array_equal(batch, expected["probability"].to_numpy())
    one_by_one = np.concatenate([fast.scores([row]) for row in rows[:500]])
    np.testing.assert_array_equal(one_by_one, expected["probability"].to_numpy()[:500])
    np.testing.assert_array_equal(bundle.decide(batch), expected["prediction"].to_numpy(dtype=int))


def test_missing_values_take_the_pipeline_imputation(bundle_dir: Path, raw_test: pd.DataFrame) -> None:
    bundle = load_bundle(bundle_dir)
    nullable = [c["name"] for c in bundle.schema["columns"] if c["nullable"]]
    assert nullable, "the flights schema has nullable weather and plane columns"
    blanked = raw_test.head(200).copy()
    blanked.loc[blanked.index[::2], nullable] = None
    rows = RowValidator(bundle.schema, "accept", 1000).from_python(json_rows(blanked))
    fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
    np.testing.assert_array_equal(
        fast.scores(rows), bundle.predict(blanked, unknown_category="accept")["probability"].to_numpy()
    )


def test_other_pipeline_shapes_fall_back_to_the_packaged_pipeline(
    bundle_dir: Path, tmp_path: Path, known_rows: list[dict]
) -> None:
    bundle = load_bundle(bundle_dir)
    features = bundle.pipeline.named_steps["features"]
    dummy = Pipeline([("features", features), ("model", DummyClassifier(strategy="prior"))])
    assert compile_fast_path(dummy, bundle.input_columns) is None
    log = PredictionLogSettings(url=f"sqlite:///{tmp_path / 'log.sqlite'}")
    answers = []
    for fast_path in (True, False):
        with TestClient(create_app(bundle_dir, ServeSettings(fast_path=fast_path, log=log))) as client:
            answers.append(client.post("/predict", json=known_rows[:100]).json()["predictions"])
    assert answers[0] == answers[1]


def test_a_batch_of_moments_gets_each_row_its_own_part() -> None:
    """Parts are computed once per distinct moment, and a batch's parts are each row's own:
    one instant under several offsets, a naive time, a null, and the two 01:30s of the night
    New York leaves daylight time (equal on their tzinfo whatever their fold, an hour apart)."""
    york = ZoneInfo("America/New_York")
    instant = datetime(2013, 11, 3, 5, 30, tzinfo=UTC)
    moments = [
        instant,
        instant.astimezone(timezone(timedelta(hours=-4))),
        datetime(2013, 11, 3, 1, 30, tzinfo=york),  # fold 0: daylight time, 05:30 UTC
        datetime(2013, 11, 3, 1, 30, tzinfo=york, fold=1),  # standard time, 06:30 UTC
        datetime(2013, 11, 3, 5, 30),  # naive: UTC
        None,
        instant,
    ]
    records = [{"at": moment} for moment in moments]
    for zone in (york, None):
        for part in _DATETIME_PARTS:
            column = _datetime_part_column("at", part, zone)
            one_by_one = np.concatenate([column([record]) for record in records])
            np.testing.assert_array_equal(column(records), one_by_one)
    np.testing.assert_array_equal(_datetime_part_column("at", "hour", york)(records), [1, 1, 1, 1, 1, np.nan, 1])
    np.testing.assert_array_equal(_datetime_part_column("at", "hour", None)(records), [5, 5, 5, 6, 5, np.nan, 5])
