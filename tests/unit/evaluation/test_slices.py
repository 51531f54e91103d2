"""Per-category slice metrics on the real interim test sample with a real model's probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, roc_auc_score

from lifecycle.config import SliceSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation.slices import slice_metrics as task_slice_metrics
from lifecycle.metrics.multiclass import score_metrics as multiclass_scores
from lifecycle.metrics.regression import score_metrics as regression_scores
from lifecycle.tasks.binary import BINARY
from lifecycle.tasks.multiclass import MULTICLASS
from lifecycle.tasks.regression import REGRESSION
from tests.support.samples import Scored

SCORES = {"rows", "positive_rate", "roc_auc", "f1"}


def slice_metrics(
    rows: pd.DataFrame, y: np.ndarray, probability: np.ndarray, threshold: float, settings: SliceSettings
) -> dict[str, object]:
    """Binary slices at `threshold`, as the evaluate stage computes them."""
    return task_slice_metrics(rows, y, probability, settings, BINARY, threshold)


def settings(columns: list[str], min_rows: int = 50, worst: int = 4) -> SliceSettings:
    return SliceSettings(columns=columns, min_rows=min_rows, worst=worst)


def kept_values(scored: Scored, column: str, min_rows: int) -> dict[str, int]:
    """Values with at least `min_rows` rows and both classes, with their row counts."""
    frame = pd.DataFrame({"value": scored.rows[column].astype(str), "y": scored.y})
    counts = frame.groupby("value")["y"].agg(["size", "nunique"])
    kept = counts[(counts["size"] >= min_rows) & (counts["nunique"] == 2)]
    return {str(value): int(size) for value, size in kept["size"].items()}


def by_value(result: dict, column: str) -> dict[str, dict[str, float]]:
    """One column's slices keyed by value, each with its rows and scores."""
    return {row["value"]: {k: v for k, v in row.items() if k != "value"} for row in result["by_column"][column]}


def test_every_row_of_a_column_lands_in_one_slice(scored: Scored) -> None:
    result = slice_metrics(scored.rows, scored.y, scored.probability, 0.5, settings(["origin"], min_rows=1))
    origins = by_value(result, "origin")
    assert set(origins) == set(scored.rows["origin"].astype(str).unique())
    assert sum(s["rows"] for s in origins.values()) == len(scored.rows)
    positives = sum(s["rows"] * s["positive_rate"] for s in origins.values())
    assert positives == pytest.approx(scored.y.sum(), abs=1e-3)


def test_small_and_single_class_slices_are_skipped(scored: Scored) -> None:
    result = slice_metrics(scored.rows, scored.y, scored.probability, 0.5, settings(["carrier"], min_rows=50))
    carriers = by_value(result, "carrier")
    expected = kept_values(scored, "carrier", 50)
    assert {k: v["rows"] for k, v in carriers.items()} == expected
    assert len(expected) < scored.rows["carrier"].nunique()  # some carriers really are too small
    assert sum(v["rows"] for v in carriers.values()) < len(scored.rows)


def test_single_class_slices_are_skipped_whatever_their_size(scored: Scored) -> None:
    carriers = pd.DataFrame({"carrier": scored.rows["carrier"].astype(str), "y": scored.y})
    single = set(carriers.groupby("carrier")["y"].nunique().loc[lambda n: n == 1].index)
    assert single  # the sample has carriers with one flight or only on-time flights
    result = slice_metrics(scored.rows, scored.y, scored.probability, 0.5, settings(["carrier"], min_rows=1))
    assert not single & set(by_value(result, "carrier"))
    assert set(by_value(result, "carrier")) == set(kept_values(scored, "carrier", 1))


def test_slice_scores_match_sklearn(scored: Scored) -> None:
    threshold = 0.3
    result = slice_metrics(scored.rows, scored.y, scored.probability, threshold, settings(["origin"]))
    assert set(by_value(result, "origin")) == {"EWR", "JFK", "LGA"}
    for origin, scores in by_value(result, "origin").items():
        assert set(scores) == SCORES
        mask = (scored.rows["origin"].astype(str) == origin).to_numpy()
        y, probability = scored.y[mask], scored.probability[mask]
        assert scores["rows"] == int(mask.sum())
        assert scores["positive_rate"] == round(float(y.mean()), 6)
        assert scores["roc_auc"] == round(float(roc_auc_score(y, probability)), 6)
        assert scores["f1"] == round(float(f1_score(y, (probability >= threshold).astype(int))), 6)


def test_threshold_changes_f1_not_roc_auc(scored: Scored) -> None:
    def origins(threshold: float) -> dict[str, dict[str, float]]:
        result = slice_metrics(scored.rows, scored.y, scored.probability, threshold, settings(["origin"]))
        return by_value(result, "origin")

    low, high = origins(0.2), origins(0.6)
    assert {k: v["roc_auc"] for k, v in low.items()} == {k: v["roc_auc"] for k, v in high.items()}
    assert {k: v["f1"] for k, v in low.items()} != {k: v["f1"] for k, v in high.items()}


def test_worst_slices_are_ranked_lowest_roc_auc_first(scored: Scored) -> None:
    result = slice_metrics(
        scored.rows, scored.y, scored.probability, 0.5, settings(["carrier", "origin"], min_rows=50, worst=4)
    )
    every = sorted(
        (scores["roc_auc"], f"{column}={value}")
        for column in result["by_column"]
        for value, scores in by_value(result, column).items()
    )
    assert len(every) > 4
    worst = result["worst"]
    assert [entry["slice"] for entry in worst] == [name for _, name in every[:4]]
    aucs = [entry["roc_auc"] for entry in worst]
    assert aucs == sorted(aucs)
    column, value = worst[0]["slice"].split("=", 1)
    assert worst[0] == {"slice": f"{column}={value}", **by_value(result, column)[value]}


def test_worst_lists_every_slice_when_there_are_few(scored: Scored) -> None:
    result = slice_metrics(scored.rows, scored.y, scored.probability, 0.5, settings(["origin"], worst=10))
    assert len(result["worst"]) == len(result["by_column"]["origin"]) == 3


def test_missing_values_form_their_own_slice(scored: Scored) -> None:
    column = "manufacturer"  # from the planes join: unmatched tail numbers have none
    missing = int(scored.rows[column].isna().sum())
    assert missing >= 20
    result = slice_metrics(scored.rows, scored.y, scored.probability, 0.5, settings([column], min_rows=20))
    assert by_value(result, column)["<missing>"]["rows"] == missing


def test_unknown_column_is_named(scored: Scored) -> None:
    with pytest.raises(LifecycleError, match=r"evaluate\.slices\.columns.*'no_such_column'"):
        slice_metrics(scored.rows, scored.y, scored.probability, 0.5, settings(["origin", "no_such_column"]))


def test_regression_and_multiclass_slices_report_the_task_scores() -> None:
    """Diabetes by sex (regression) and wine by alcohol band (multiclass), real fitted models."""
    patients = load_diabetes(as_frame=True)
    predicted = Ridge().fit(patients.data, patients.target).predict(patients.data)
    rows = pd.DataFrame({"sex": np.where(patients.data["sex"] > 0, "male", "female")})
    y = patients.target.to_numpy()
    result = task_slice_metrics(rows, y, predicted, settings(["sex"], min_rows=50), REGRESSION)
    assert result["ranked_by"] == "r2" and set(by_value(result, "sex")) == {"male", "female"}
    for value, scores in by_value(result, "sex").items():
        mask = (rows["sex"] == value).to_numpy()
        expected = regression_scores(y[mask], predicted[mask])
        assert scores == {"rows": int(mask.sum()), **{k: expected[k] for k in ("r2", "rmse", "mae")}}

    wine = load_wine(as_frame=True)
    classes = [0, 1, 2]
    probability = LogisticRegression(max_iter=5000).fit(wine.data, wine.target).predict_proba(wine.data)
    rows = pd.DataFrame({"band": np.where(wine.data["alcohol"] > 13, "strong", "light")})
    y = wine.target.to_numpy()
    result = task_slice_metrics(rows, y, probability, settings(["band"], min_rows=20), MULTICLASS, None, classes)
    assert result["ranked_by"] == "accuracy" and set(by_value(result, "band")) == {"strong", "light"}
    for value, scores in by_value(result, "band").items():
        mask = (rows["band"] == value).to_numpy()
        expected = multiclass_scores(y[mask], probability[mask], classes)
        assert scores == {"rows": int(mask.sum()), "accuracy": expected["accuracy"], "f1_macro": expected["f1_macro"]}
    assert [s["slice"] for s in result["worst"]] == sorted(
        (f"band={v}" for v in by_value(result, "band")),
        key=lambda s: by_value(result, "band")[s.split("=")[1]]["accuracy"],
    )
