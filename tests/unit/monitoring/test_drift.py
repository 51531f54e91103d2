"""Drift by Evidently 0.7's default rules, checked against Evidently itself on the same frames
(a small and a large reference, real flights, one broken column), and the rules' edges."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandas.core.dtypes.common
import pytest

from lifecycle.config import DriftSettings
from lifecycle.monitoring.drift import ColumnDrift, DatasetDrift, Kind, choose_method, column_drift, dataset_drift
from tests.support.samples import Interim

# Evidently 0.7.23 imports a pandas function that pandas 3 removed, for a data-integrity test
# the drift metrics never run; restoring the name lets the package import. Nothing it
# computes here passes through it.
pandas.core.dtypes.common.infer_dtype_from_object = lambda dtype: dtype  # type: ignore[attr-defined]

from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.metrics import ValueDrift  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

KINDS: dict[str, Kind] = {
    "distance": "numeric",
    "temp": "numeric",  # broken in the current frame: a sensor stuck at one value
    "wind_speed": "numeric",
    "engines": "numeric",  # few distinct values: a test or distance for categories
    "origin_departures_this_hour": "numeric",
    "carrier": "categorical",
    "origin": "categorical",
    "from_jfk": "categorical",  # two values: the z-test with a small reference
}
# Evidently's method names -> ours
METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The monitored columns as the monitor holds them: numbers as floats, categories as text."""
    out = pd.DataFrame({name: rows[name].astype("float64") for name, kind in KINDS.items() if kind == "numeric"})
    for name in ("carrier", "origin"):
        out[name] = rows[name].astype(object)
    out["from_jfk"] = np.where(rows["origin"] == "JFK", "yes", "no").astype(object)
    return out.reset_index(drop=True)[list(KINDS)]


def evidently_drift(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, Any]:
    """Evidently's DataDriftPreset (its defaults) and PSI per column on the same frames."""
    definition = DataDefinition(
        numerical_columns=[n for n, k in KINDS.items() if k == "numeric"],
        categorical_columns=[n for n, k in KINDS.items() if k == "categorical"],
    )
    report = Report([DataDriftPreset(), *(ValueDrift(column=name, method="psi") for name in KINDS)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    ).dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in snapshot["tests"]}
    columns: dict[str, dict[str, Any]] = {name: {} for name in KINDS}
    result: dict[str, Any] = {"columns": columns}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            result["drifted"], result["share"] = metric["value"]["count"], metric["value"]["share"]
            result["drift"] = status[metric["id"]] == "FAIL"
        elif config["method"] == "psi":
            columns[config["column"]]["psi"] = metric["value"]
        else:
            columns[config["column"]].update(
                method=METHODS[config["method"]],
                score=metric["value"],
                threshold=config["threshold"],
                drifted=status[metric["id"]] == "FAIL",
            )
    return result


@pytest.mark.parametrize("reference_rows", [800, 3000], ids=["small-reference-tests", "large-reference-distances"])
def test_scores_and_decisions_equal_evidentlys(interim: Interim, reference_rows: int) -> None:
    train, test, _ = interim
    reference = frame(train.sample(n=reference_rows, random_state=1))
    current = frame(test.head(600))
    current["temp"] = 41.0
    ours = dataset_drift(reference, current, KINDS, DriftSettings())
    theirs = evidently_drift(reference, current)
    for column in ours.columns:
        expected = theirs["columns"][column.column]
        assert column.method == expected["method"], column.column
        assert column.threshold == expected["threshold"], column.column
        assert column.score == pytest.approx(expected["score"], rel=1e-9, abs=1e-12), column.column
        assert column.drifted == expected["drifted"], column.column
        assert column.psi == pytest.approx(expected["psi"], rel=1e-9, abs=1e-12), column.column
    assert (ours.drifted, ours.share, ours.drift) == (
        theirs["drifted"],
        pytest.approx(theirs["share"]),
        theirs["drift"],
    )
    # both regimes are exercised: every method of the regime, drifted and steady columns
    methods = {c.method for c in ours.columns}
    assert methods == ({"ks", "chisquare", "z"} if reference_rows <= 1000 else {"wasserstein", "jensenshannon"})
    assert "temp" in ours.drifted_columns() and len(ours.drifted_columns()) < len(KINDS)


def test_expected_columns_are_reported_not_counted(interim: Interim) -> None:
    train, test, _ = interim
    reference, current = frame(train.head(2000)), frame(test.head(500))
    current["temp"] = 41.0
    current["distance"] = current["distance"] * 3
    plain = dataset_drift(reference, current, KINDS, DriftSettings(dataset_share=0.25))
    declared = dataset_drift(reference, current, KINDS, DriftSettings(dataset_share=0.25, expected=["temp"]))
    assert "temp" in plain.drifted_columns() and "temp" in declared.drifted_columns(expected=True)
    assert "temp" not in declared.drifted_columns()
    assert declared.counted == plain.counted - 1 and declared.drifted == plain.drifted - 1


def test_a_column_without_current_values_has_drifted_and_one_without_reference_cannot() -> None:
    settings = DriftSettings()
    values = pd.Series([1.0, 2.0, 3.0])
    empty = pd.Series([np.nan, np.nan])
    vanished = column_drift("temp", values, empty, "numeric", settings)
    unknown = column_drift("temp", empty, values, "numeric", settings)
    assert (vanished.method, vanished.drifted, vanished.score) == ("no current values", True, None)
    assert (unknown.method, unknown.drifted, unknown.score) == ("no reference values", False, None)


@pytest.mark.parametrize(
    ("reference_rows", "distinct", "kind", "method"),
    [
        (1000, 6, "numeric", "ks"),
        (1000, 5, "numeric", "chisquare"),
        (1000, 2, "categorical", "z"),
        (1001, 6, "numeric", "wasserstein"),
        (1001, 5, "numeric", "jensenshannon"),
        (1001, 40, "categorical", "jensenshannon"),
    ],
)
def test_the_method_follows_reference_size_kind_and_distinct_values(
    reference_rows: int, distinct: int, kind: Kind, method: str
) -> None:
    reference = pd.Series(np.arange(reference_rows) % distinct, dtype="float64")
    assert choose_method(reference, reference.head(10), kind, 1000) == method


def test_the_strongest_drift_is_named_on_one_scale_for_tests_and_distances() -> None:
    def drifted(
        column: str, method: str, score: float | None, threshold: float, expected: bool = False, psi: float = 0.1
    ) -> ColumnDrift:
        return ColumnDrift(column, "numeric", method, score, threshold, True, psi, expected, 100, 100)

    distance = drifted("distance", "wasserstein", 0.3, 0.1)
    test = drifted("temp", "ks", 0.01, 0.05)
    vanished = drifted("wind_gust", "no current values", None, 0.0)
    assert distance.ratio == pytest.approx(3.0) and test.ratio == pytest.approx(5.0) and vanished.ratio == 10.0
    month = drifted("month", "wasserstein", 5.0, 0.1, expected=True)
    dataset = DatasetDrift([distance, test, month], counted=2, drifted=2, share=1.0, drift=True)
    assert dataset.strongest() is test  # the expected column drifted more, but is not counted
    assert DatasetDrift([month], counted=0, drifted=0, share=0.0, drift=False).strongest() is None
    # two tests sure beyond the cap: the one whose values moved further (PSI) is the strongest
    sure, moved = drifted("carrier", "ks", 1e-30, 0.05, psi=0.4), drifted("temp", "ks", 1e-20, 0.05, psi=15.9)
    assert sure.ratio == moved.ratio == 10.0
    assert DatasetDrift([sure, moved], counted=2, drifted=2, share=1.0, drift=True).strongest() is moved
