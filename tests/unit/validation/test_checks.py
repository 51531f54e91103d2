"""Data validation of the joined table: real flights, scikit-learn's bundled datasets."""

from __future__ import annotations

import io
import json
from typing import get_args

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from lifecycle.config import (
    CheckName,
    ColumnExpectation,
    Params,
    RoleInferenceSettings,
    TargetSettings,
    ValidationSettings,
)
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.missing import mark_missing
from lifecycle.preprocessing.roles import DECLARED, infer_roles
from lifecycle.preprocessing.tables import coerce_dtypes, join_table
from lifecycle.validation.registry import DEFAULT_SEVERITY
from lifecycle.validation.report import raise_on_errors, summary_markdown, validate_table

FLIGHTS_TARGET = TargetSettings(column="arr_delay", name="delayed", threshold=15)
NO_LEAKAGE = ValidationSettings(severity={"leakage": "off"})  # for tests of the cheap checks


@pytest.fixture(scope="module")
def flights(raw_tables: dict[str, pd.DataFrame], params: Params) -> pd.DataFrame:
    """The real flights sample with weather and planes joined on, time_hour as datetime."""
    joined = raw_tables["flights"]
    for join in params.preprocess.joins:
        joined, _ = join_table(joined, raw_tables[join.source], join)
    return coerce_dtypes(joined, {"time_hour": "datetime"})


def flights_label(frame: pd.DataFrame) -> pd.Series:
    """delayed = arr_delay > 15, missing where arr_delay is (a cancelled flight)."""
    return (frame["arr_delay"] > 15).astype("Int64").where(frame["arr_delay"].notna())


def flights_roles(frame: pd.DataFrame, params: Params, **overrides: str) -> dict:
    return infer_roles(frame, FLIGHTS_TARGET, params.preprocess.outcome_columns, overrides, RoleInferenceSettings())


def check_flights(
    frame: pd.DataFrame, params: Params, settings: ValidationSettings = NO_LEAKAGE, **overrides: str
) -> dict:
    roles = flights_roles(frame, params, **overrides)
    return validate_table(frame, flights_label(frame), "arr_delay", "binary", roles, settings)


def sklearn_frame(loader) -> pd.DataFrame:
    return loader(as_frame=True).frame


def check_frame(frame: pd.DataFrame, task: str | None, settings: ValidationSettings = ValidationSettings()) -> dict:
    """Validate a bundled dataset whose label is its `target` column, roles inferred."""
    roles = infer_roles(frame, TargetSettings(column="target"), [], {}, RoleInferenceSettings())
    return validate_table(frame, frame["target"], "target", task, roles, settings)


def failed(report: dict, check: str) -> list[dict]:
    return [c for c in report["checks"] if c["check"] == check]


def test_every_check_has_a_default_severity() -> None:
    assert set(DEFAULT_SEVERITY) == set(get_args(CheckName))
    assert set(DEFAULT_SEVERITY.values()) <= {"error", "warning"}


def test_real_flights_pass_with_a_deterministic_json_report(flights: pd.DataFrame, params: Params) -> None:
    settings = ValidationSettings(seed=13)
    report = check_flights(flights, params, settings)
    assert report["counts"]["error"] == 0, report["checks"]
    assert report["status"] in ("passed", "passed with warnings")
    assert report == check_flights(flights, params, settings)
    json.dumps(report, allow_nan=False)  # strict JSON: no NaN, numpy scalars or timestamps
    assert (report["rows"], report["columns"]) == flights.shape
    assert set(report["schema"]) == set(map(str, flights.columns))
    assert report["schema"]["dep_delay"]["role"] == "outcome"
    assert report["schema"]["arr_delay"]["role"] == "target"
    # the real data's known flaws are reported as warnings: cancelled flights lack a delay,
    # and planes.speed is almost always empty
    missing = flights["arr_delay"].isna().mean()
    [target_missing] = failed(report, "target_missing_values")
    assert target_missing["severity"] == "warning"
    assert target_missing["value"] == pytest.approx(missing, abs=1e-6)
    assert "speed" in {c["column"] for c in failed(report, "missing_values")}
    shares = report["target_summary"]["classes"]
    assert set(shares) == {"0", "1"}
    assert sum(s["rows"] for s in shares.values()) == flights["arr_delay"].notna().sum()
    # outcomes are never scored, and no genuine feature comes close to the leakage threshold
    scores = report["single_feature_scores"]
    assert len(scores) == 10 and report["single_feature_metric"] == "balanced_accuracy"
    assert not {s["column"] for s in scores} & set(params.preprocess.outcome_columns)
    assert scores[0]["score"] < 0.8, scores[0]


def test_a_copy_of_the_label_is_leakage_genuine_features_are_not() -> None:
    frame = sklearn_frame(load_breast_cancer)
    frame["diagnosis_code"] = frame["target"].map({0: "malignant", 1: "benign"})
    report = check_frame(frame, "binary")
    assert report["status"] == "failed"
    [leak] = failed(report, "leakage")
    assert (leak["column"], leak["severity"], leak["value"]) == ("diagnosis_code", "error", 1.0)
    assert "preprocess.outcome_columns" in leak["message"]
    assert "validation.severity.leakage: warning" in leak["message"]
    best, runner_up = report["single_feature_scores"][:2]
    assert best["column"] == "diagnosis_code"
    assert runner_up["score"] < 0.98, f"best genuine single feature: {runner_up}"
    assert "| `diagnosis_code` | 1.0000 |" in summary_markdown(report)

    as_warning = check_frame(frame, "binary", ValidationSettings(severity={"leakage": "warning"}))
    assert as_warning["status"] == "passed with warnings"
    assert [c["severity"] for c in failed(as_warning, "leakage")] == ["warning"]

    off = check_frame(frame, "binary", ValidationSettings(severity={"leakage": "off"}))
    assert failed(off, "leakage") == [] and off["single_feature_scores"] == []
    assert off["skipped"] == {"leakage": "severity off"}
    assert off["status"] == "passed"


def test_regression_leakage_is_scored_by_r2() -> None:
    frame = sklearn_frame(load_diabetes)
    frame["progression_copy"] = frame["target"].round()
    report = check_frame(frame, "regression")
    assert [c["column"] for c in failed(report, "leakage")] == ["progression_copy"]
    genuine = [s for s in report["single_feature_scores"] if s["column"] != "progression_copy"]
    assert genuine[0]["score"] < 0.5, genuine[0]
    assert report["single_feature_metric"] == "r2"
    summary = report["target_summary"]
    assert (summary["min"], summary["max"]) == (frame["target"].min(), frame["target"].max())


def test_numbers_with_a_few_text_markers_are_mixed_types(flights: pd.DataFrame, params: Params) -> None:
    # the way a CSV export writes a numeric column where a few cells were typed by hand
    dirty = flights.copy()
    dirty["distance"] = dirty["distance"].astype(str)
    dirty.loc[[3, 50, 400], "distance"] = "unknown"
    dirty.loc[[7, 900], "distance"] = "1,089 mi"
    read = pd.read_csv(io.StringIO(dirty.to_csv(index=False)))
    read["time_hour"] = pd.to_datetime(read["time_hour"], utc=True)
    report = check_flights(read, params)
    [mixed] = failed(report, "mixed_types")
    assert (mixed["column"], mixed["severity"], mixed["value"]) == ("distance", "error", 5)
    assert "'unknown'" in mixed["message"] and "'1,089 mi'" in mixed["message"]
    # declared a category, the same column is the user's decision, not a mistake
    declared = check_flights(read, params, distance="categorical")
    assert declared["schema"]["distance"]["reason"] == DECLARED
    assert failed(declared, "mixed_types") == []


def test_a_placeholder_is_mixed_types_until_declared_in_na_values(flights: pd.DataFrame, params: Params) -> None:
    """The README's example: `unknown` in a CSV's numeric column stops preprocess (pandas
    reads `n/a` as missing by itself), and `preprocess.na_values` makes it missing."""
    dirty = flights.copy()
    dirty["distance"] = dirty["distance"].astype(str)
    dirty.loc[[3, 50, 400], "distance"] = "unknown"
    dirty.loc[[7], "distance"] = "n/a"
    read = pd.read_csv(io.StringIO(dirty.to_csv(index=False)))
    read["time_hour"] = pd.to_datetime(read["time_hour"], utc=True)
    [mixed] = failed(check_flights(read, params), "mixed_types")
    assert (mixed["column"], mixed["value"]) == ("distance", 3)
    marked, counts = mark_missing(read, ["unknown"])
    assert counts == {"distance": 3} and marked["distance"].isna().sum() == 4
    assert failed(check_flights(marked, params), "mixed_types") == []


def test_python_objects_of_several_types_are_mixed_types(flights: pd.DataFrame, params: Params) -> None:
    # what a JSON source gives when some records hold a number and others a string
    records = flights[["dep_time", "arr_delay", "origin"]].head(300).to_dict("records")
    for record in records[:4]:
        record["origin"] = 1
    frame = pd.read_json(io.StringIO(json.dumps(records)), orient="records")
    roles = flights_roles(frame, params)
    report = validate_table(frame, flights_label(frame), "arr_delay", "binary", roles, NO_LEAKAGE)
    [mixed] = failed(report, "mixed_types")
    assert (mixed["column"], mixed["value"]) == ("origin", 4)
    assert "4 number" in mixed["message"] and "296 text" in mixed["message"]


def test_a_category_with_some_numeric_codes_is_not_mixed(flights: pd.DataFrame, params: Params) -> None:
    # a flight code: the bare number at EWR, carrier + number elsewhere
    coded = flights.copy()
    bare = coded["origin"] == "EWR"
    coded["flight_code"] = (coded["carrier"] + coded["flight"].astype(str)).where(~bare, coded["flight"].astype(str))
    assert 0.25 < bare.mean() < 0.5
    coded["zip"] = coded["flight"].map("{:05d}".format)  # digits only: one kind, not mixed
    report = check_flights(coded, params)
    assert failed(report, "mixed_types") == []


def test_constant_target_fails_and_leaves_the_task_checks_out() -> None:
    frame = sklearn_frame(load_breast_cancer)
    benign = frame[frame["target"] == 1].reset_index(drop=True)
    report = check_frame(benign, None)
    [constant] = failed(report, "target_constant")
    assert constant["severity"] == "error" and "'target'" in constant["message"]
    assert report["skipped"] == {
        "class_balance": "the task is unknown",
        "leakage": "the task is unknown",
        "rare_class": "the task is unknown",
    }


def test_all_missing_target_is_an_error_some_missing_a_warning(flights: pd.DataFrame, params: Params) -> None:
    cancelled = flights[flights["arr_delay"].isna()].reset_index(drop=True)
    report = check_flights(cancelled, params)
    [missing] = failed(report, "target_missing_values")
    assert missing["severity"] == "error" and report["status"] == "failed"
    assert f"any of the {len(cancelled)} rows" in missing["message"]
    off = check_flights(
        cancelled,
        params,
        ValidationSettings(severity={"target_missing_values": "off", "leakage": "off"}),
    )
    assert failed(off, "target_missing_values") == []


def test_missing_expected_column_and_absent_target(flights: pd.DataFrame, params: Params) -> None:
    settings = ValidationSettings(
        columns={"wind_sped": ColumnExpectation(), "distance": ColumnExpectation()},
        severity={"leakage": "off"},
    )
    report = check_flights(flights, params, settings)
    [missing] = failed(report, "missing_column")
    assert missing["column"] == "wind_sped" and "did you mean 'wind_speed'" in missing["message"]

    no_target = flights.drop(columns="arr_delay")
    roles = flights_roles(no_target, params)
    report = validate_table(no_target, None, "arr_delay", None, roles, NO_LEAKAGE)
    [missing] = failed(report, "missing_column")
    assert missing["column"] == "arr_delay" and "target column 'arr_delay'" in missing["message"]
    assert report["target_summary"] == {}


def test_dtype_mismatch(flights: pd.DataFrame, params: Params) -> None:
    expected = {
        "origin": ColumnExpectation(kind="numeric"),
        "distance": ColumnExpectation(kind="numeric"),
        "time_hour": ColumnExpectation(kind="datetime"),
        "carrier": ColumnExpectation(kind="categorical"),
    }
    report = check_flights(flights, params, ValidationSettings(columns=expected, severity={"leakage": "off"}))
    [dtype] = failed(report, "dtype")
    assert dtype["column"] == "origin" and dtype["severity"] == "error"
    assert "categorical" in dtype["message"] and "expects numeric" in dtype["message"]


def test_out_of_range_and_unexpected_category(flights: pd.DataFrame, params: Params) -> None:
    expected = {
        "distance": ColumnExpectation(min=100, max=2000),
        "origin": ColumnExpectation(categories=["JFK", "LGA"]),
        "carrier": ColumnExpectation(categories=sorted(flights["carrier"].unique())),
    }
    report = check_flights(flights, params, ValidationSettings(columns=expected, severity={"leakage": "off"}))
    by_threshold = {c["threshold"]: c for c in failed(report, "out_of_range")}
    distance = flights["distance"]
    assert set(by_threshold) == {100, 2000}
    assert by_threshold[2000]["value"] == distance.max()
    assert f"{(distance > 2000).sum()} value(s) above" in by_threshold[2000]["message"]
    assert by_threshold[100]["value"] == distance.min()
    assert f"{(distance < 100).sum()} value(s) below" in by_threshold[100]["message"]
    [category] = failed(report, "unexpected_category")
    assert (category["column"], category["severity"]) == ("origin", "warning")
    assert category["value"] == (flights["origin"] == "EWR").sum()
    assert "'EWR'" in category["message"]


def test_duplicate_rows_over_the_share(flights: pd.DataFrame, params: Params) -> None:
    assert failed(check_flights(flights, params), "duplicates") == []
    repeated = pd.concat([flights, flights.iloc[:600]], ignore_index=True)
    [duplicates] = failed(check_flights(repeated, params), "duplicates")
    assert duplicates["value"] == pytest.approx(600 / len(repeated), abs=1e-6)
    assert duplicates["severity"] == "warning" and duplicates["column"] is None


def test_unmatched_join_leaves_empty_columns(raw_tables: dict[str, pd.DataFrame], params: Params) -> None:
    # weather keyed by a lower-cased airport code: the join matches nothing
    weather = raw_tables["weather"].assign(origin=raw_tables["weather"]["origin"].str.lower())
    joined, _ = join_table(raw_tables["flights"], weather, params.preprocess.joins[0])
    report = check_flights(joined, params)
    empty = {c["column"] for c in failed(report, "empty_column")}
    assert {"temp", "humid", "visib"} <= empty
    assert not empty & {c["column"] for c in failed(report, "missing_values")}


def test_rare_class_and_class_balance_on_wine() -> None:
    wine = sklearn_frame(load_wine)
    few = pd.concat([wine[wine["target"] == 0].head(1), wine[wine["target"] != 0]], ignore_index=True)
    report = check_frame(few, "multiclass")
    [rare] = failed(report, "rare_class")
    assert (rare["severity"], rare["value"], rare["threshold"]) == ("error", 1, 10)
    [balance] = failed(report, "class_balance")
    assert balance["severity"] == "warning"
    assert balance["value"] == pytest.approx(1 / len(few), abs=1e-6)
    assert report["target_summary"]["classes"]["0"]["rows"] == 1
    assert report["single_feature_scores"]  # the rare class is left out of the leakage folds
    assert not failed(check_frame(wine, "multiclass"), "rare_class")


def test_raise_on_errors_names_each_error_and_the_report(flights: pd.DataFrame, params: Params) -> None:
    expected = {"origin": ColumnExpectation(kind="numeric"), "wind_sped": ColumnExpectation()}
    report = check_flights(flights, params, ValidationSettings(columns=expected, severity={"leakage": "off"}))
    assert report["counts"] == {"error": 2, "warning": 3}
    with pytest.raises(LifecycleError) as raised:
        raise_on_errors(report, "metrics/validation.json")
    message = str(raised.value)
    assert "2 error(s)" in message and "metrics/validation.json" in message
    assert "[dtype] column 'origin'" in message and "[missing_column] column 'wind_sped'" in message
    assert "[missing_values]" not in message  # warnings are not errors
    raise_on_errors(check_flights(flights, params), "metrics/validation.json")  # warnings only


def test_summary_markdown_holds_status_and_every_message(flights: pd.DataFrame, params: Params) -> None:
    expected = {"origin": ColumnExpectation(kind="numeric", categories=["JFK"])}
    report = check_flights(flights, params, ValidationSettings(columns=expected, severity={"leakage": "off"}))
    assert report["counts"] == {"error": 1, "warning": 4}
    text = summary_markdown(report)
    assert f"**Status: {report['status']}**" in text
    for check in report["checks"]:
        assert check["message"] in text
    assert "Skipped: `leakage` (severity off)." in text
    roles = text.split("## Column roles\n", 1)[1]
    assert len([line for line in roles.splitlines() if line.startswith("| `")]) == len(flights.columns)
    entry = report["schema"]["arr_delay"]
    assert f"| `arr_delay` | {entry['role']} | {entry['reason']} | {entry['dtype']} |" in roles
