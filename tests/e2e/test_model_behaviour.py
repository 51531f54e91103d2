"""Behavioural tests of the packaged model (the bundle the real pipeline wrote): what it must
do whatever its accuracy. Direction: a known cause of delays moves the prediction the way it
should. Invariance: how a caller arranges the same rows changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lifecycle.config import PredictionLogSettings, ServeSettings
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.serving.app import create_app
from tests.support.serving import json_rows

ROWS = 300  # test rows whose categories were all seen in training


@pytest.fixture(scope="module")
def bundle(bundle_dir: Path) -> Bundle:
    return load_bundle(bundle_dir)


@pytest.fixture(scope="module")
def rows(raw_test: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    known = pd.Series(True, index=raw_test.index)
    for column in bundle.schema["columns"]:
        if column["kind"] == "categorical":
            values = raw_test[column["name"]]
            known &= values.isna() | values.isin(column["categories"])
    return raw_test[known].sample(ROWS, random_state=3).reset_index(drop=True)


def probability(bundle: Bundle, rows: pd.DataFrame) -> np.ndarray:
    scored = bundle.predict(rows)
    assert scored["error"].isna().all(), scored["error"].dropna().head()
    return scored["probability"].to_numpy()


# --- direction --------------------------------------------------------------------------


def test_recent_delays_at_the_origin_raise_the_delay_probability(bundle: Bundle, rows: pd.DataFrame) -> None:
    """Departures at the origin that ran an hour later over the last two hours make a delay
    more likely on average, and for more flights than they make it less likely."""
    later = rows.assign(origin_dep_delay_prev_2h=rows["origin_dep_delay_prev_2h"].fillna(0) + 60)
    earlier = rows.assign(origin_dep_delay_prev_2h=0.0)
    raised, base = probability(bundle, later), probability(bundle, earlier)
    assert raised.mean() > base.mean() + 0.02
    assert (raised > base).sum() > 2 * (raised < base).sum()


def test_congestion_at_the_departure_hour_does_not_lower_the_delay_probability_on_average(
    bundle: Bundle, rows: pd.DataFrame
) -> None:
    """More departures scheduled at the origin in the same hour: at worst no change on average."""
    busy = rows.assign(origin_departures_this_hour=rows["origin_departures_this_hour"] + 20)
    assert probability(bundle, busy).mean() >= probability(bundle, rows).mean() - 0.005


# --- invariance -------------------------------------------------------------------------


def test_column_order_changes_nothing(bundle: Bundle, rows: pd.DataFrame) -> None:
    shuffled = rows[list(np.random.default_rng(0).permutation(rows.columns))]
    assert list(shuffled.columns) != list(rows.columns)
    pd.testing.assert_frame_equal(bundle.predict(shuffled), bundle.predict(rows))


def test_a_row_alone_or_in_a_batch_gets_the_same_prediction(bundle: Bundle, rows: pd.DataFrame) -> None:
    batch = bundle.predict(rows.head(40))
    alone = pd.concat([bundle.predict(rows.iloc[[i]]) for i in range(40)], ignore_index=True)
    pd.testing.assert_frame_equal(alone, batch)


def test_the_service_answers_the_same_alone_in_a_batch_and_in_any_key_order(
    bundle_dir: Path, rows: pd.DataFrame, tmp_path: Path
) -> None:
    """Through HTTP, where single rows take the compiled fast path and lists of rows too."""
    payload = json_rows(rows.head(40))
    settings = ServeSettings(log=PredictionLogSettings(url=f"sqlite:///{tmp_path / 'log.sqlite'}"))
    with TestClient(create_app(bundle_dir, settings)) as client:

        def answers(body: Any) -> list[dict[str, Any]]:
            response = client.post("/predict", json=body)
            assert response.status_code == 200, response.text
            return response.json()["predictions"]

        batch = answers(payload)
        alone = [answers(row)[0] for row in payload]
        reordered = answers([dict(reversed(list(row.items()))) for row in payload])
    assert alone == batch == reordered
    scored = load_bundle(bundle_dir).predict(rows.head(40))  # and it is what the batch scorer gives
    assert [a["probability"] for a in batch] == scored["probability"].tolist()
    assert [a["label"] for a in batch] == scored["prediction"].tolist()
