"""The packaged model's input schema: inferred from the train split, enforced row by row."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifecycle.config import Params
from lifecycle.errors import LifecycleError
from lifecycle.featurization.transformers import MISSING_CATEGORY
from lifecycle.packaging.schema import NumericRule, column_kind, infer_schema, validate_rows
from tests.support.samples import Interim


@pytest.fixture(scope="module")
def schema(interim: Interim, columns: list[str]) -> dict[str, Any]:
    return infer_schema(interim[0], columns)


def entry(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in schema["columns"] if c["name"] == name)


@pytest.fixture
def rows(interim: Interim, columns: list[str]) -> pd.DataFrame:
    """Six real train rows as a caller would send them: every column free to hold any value."""
    return interim[0][columns].iloc[[3, 50, 400, 900, 1500, 2500]].reset_index(drop=True).astype(object)


# --- infer_schema ---------------------------------------------------------------------


def test_infer_schema_on_train(schema: dict[str, Any], interim: Interim, columns: list[str]) -> None:
    train = interim[0]
    assert [c["name"] for c in schema["columns"]] == columns
    kinds = {c["name"]: c["kind"] for c in schema["columns"]}
    assert kinds["distance"] == kinds["temp"] == kinds["origin_dep_delay_prev_2h"] == "numeric"
    assert kinds["dest"] == kinds["carrier"] == kinds["manufacturer"] == "categorical"
    assert kinds["time_hour"] == "datetime"
    for column in schema["columns"]:
        assert column["nullable"] == bool(train[column["name"]].isna().any())
        assert column["dtype"] == str(train[column["name"]].dtype)
    distance = entry(schema, "distance")
    assert (distance["min"], distance["max"]) == (
        float(train["distance"].min()),
        float(train["distance"].max()),
    )
    assert entry(schema, "temp")["nullable"] and not distance["nullable"]
    assert entry(schema, "origin")["categories"] == ["EWR", "JFK", "LGA"]
    assert entry(schema, "dest")["categories"] == sorted(train["dest"].dropna().unique())
    assert entry(schema, "time_hour")["min"] == train["time_hour"].min().isoformat()
    assert entry(schema, "time_hour")["max"] < "2013-11-01"


def test_infer_schema_all_missing_column(interim: Interim) -> None:
    """An all-missing numeric column has no finite range: None, never NaN (JSON-safe)."""
    train = interim[0].assign(empty=np.nan)
    described = entry(infer_schema(train, ["empty"]), "empty")
    assert described == {
        "name": "empty",
        "kind": "numeric",
        "dtype": "float64",
        "nullable": True,
        "min": None,
        "max": None,
        "integer": False,
    }


@pytest.fixture(scope="module")
def declared(interim: Interim, columns: list[str], params: Params) -> dict[str, Any]:
    """The schema as the package stage writes it: with params.yaml's declared domains."""
    return infer_schema(interim[0], columns, expectations=params.validation.columns)


def test_schema_carries_declared_domains_and_whole_numbers(declared: dict[str, Any], interim: Interim) -> None:
    month, minute, distance, temp = (entry(declared, n) for n in ("month", "minute", "distance", "temp"))
    assert month["domain"] == {"min": 1, "max": 12} and month["integer"]
    assert (month["min"], month["max"]) == (1, 10)  # a time split: November and December are test months
    assert minute["domain"] == {"min": 0, "max": 59} and minute["integer"]
    assert distance["domain"] == {"min": 0, "max": None} and distance["integer"]
    assert "domain" not in temp and not temp["integer"]  # nothing declared; 10.94 °F is no whole number
    assert interim[0]["temp"].dropna().mod(1).ne(0).any()


IMPOSSIBLE = [
    ("month", 13, "month: expected a whole number from 1 to 12, got 13"),
    ("hour", 25, "hour: expected a whole number from 0 to 23, got 25"),
    ("minute", 99, "minute: expected a whole number from 0 to 59, got 99"),
    ("minute", 59.5, "minute: expected a whole number from 0 to 59, got 59.5"),
    ("minute", 30.5, "minute: expected a whole number from 0 to 59 (every training value was one), got 30.5"),
    ("distance", -5, "distance: expected a whole number of at least 0, got -5"),
]


@pytest.mark.parametrize(("field", "value", "message"), IMPOSSIBLE)
def test_impossible_numbers_are_refused_naming_the_domain(
    rows: pd.DataFrame, declared: dict[str, Any], field: str, value: float, message: str
) -> None:
    rows.loc[1, field] = value
    _, errors = validate_rows(rows, declared)
    assert errors == [None, message, None, None, None, None]


def test_numbers_beyond_training_but_inside_the_domain_are_scored(rows: pd.DataFrame, declared: dict[str, Any]) -> None:
    """December was never trained on (the time split), yet it is a month: no error, a flag."""
    rows.loc[0, "month"] = 12
    rows.loc[1, "distance"] = 9000  # farther than any training flight
    _, errors = validate_rows(rows, declared)
    assert errors == [None] * len(rows)
    rules = {c["name"]: NumericRule.of(c) for c in declared["columns"] if c["kind"] == "numeric"}
    assert rules["month"].beyond_training(12) and rules["distance"].beyond_training(9000)
    assert not rules["month"].beyond_training(10) and rules["month"].refusal(12) is None


def test_a_bundle_without_domains_refuses_no_number(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    """Bundles packaged before domains were recorded keep scoring every finite number."""
    earlier = copy.deepcopy(schema)
    for column in earlier["columns"]:
        column.pop("integer", None)
    rows.loc[0, "month"] = 13
    rows.loc[1, "minute"] = 59.5
    _, errors = validate_rows(rows, earlier)
    assert errors == [None] * len(rows)


def test_messages_show_plain_values_not_numpy_reprs(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    """A CSV's numeric column arrives as float64: its values are numpy scalars, shown plainly."""
    frame = rows.assign(temp=np.array([np.inf, -np.inf, 3.5, 1.0, 2.0, 4.0]))
    assert frame["temp"].dtype == "float64"
    _, errors = validate_rows(frame, schema)
    assert errors[:2] == ["temp: expected a finite number, got inf", "temp: expected a finite number, got -inf"]


# --- validate_rows --------------------------------------------------------------------


def test_valid_rows_have_no_error(
    rows: pd.DataFrame, schema: dict[str, Any], interim: Interim, columns: list[str]
) -> None:
    coerced, errors = validate_rows(rows, schema)
    assert errors == [None] * len(rows)
    assert list(coerced.columns) == columns
    assert coerced["distance"].dtype == "float64"
    assert str(coerced["time_hour"].dt.tz) == "UTC"
    original = interim[0][columns].iloc[[3, 50, 400, 900, 1500, 2500]].reset_index(drop=True)
    np.testing.assert_array_equal(coerced["distance"].to_numpy(), original["distance"].to_numpy(dtype=float))
    assert coerced["dest"].tolist() == original["dest"].tolist()
    assert coerced["time_hour"].tolist() == original["time_hour"].tolist()


def test_missing_column_fails_the_batch(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    with pytest.raises(LifecycleError) as caught:
        validate_rows(rows.drop(columns=["dest", "temp"]), schema)
    assert str(caught.value).startswith("input is missing column(s) ['dest', 'temp']; the model needs ['year', ")


def test_per_row_errors(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    rows.loc[0, "distance"] = "far"
    rows.loc[1, "temp"] = np.inf
    rows.loc[2, "distance"] = np.nan  # distance is never missing in training
    rows.loc[3, "dest"] = "ZZZ"
    rows.loc[4, "time_hour"] = "the day after tomorrow"
    coerced, errors = validate_rows(rows, schema, "reject")
    assert errors[0] == "distance: expected a finite number, got 'far'"
    assert errors[1] == "temp: expected a finite number, got inf"
    assert errors[2] == "distance: missing value (never missing in training)"
    assert errors[3] == "dest: unknown category 'ZZZ'"
    assert errors[4] == "time_hour: expected a date-time, got 'the day after tomorrow'"
    assert errors[5] is None
    # bad values are not passed on as numbers
    assert np.isnan(coerced.loc[0, "distance"]) and np.isnan(coerced.loc[1, "temp"])


def test_several_errors_in_one_row(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    rows.loc[2, "distance"] = "-"
    rows.loc[2, "origin"] = "XYZ"
    _, errors = validate_rows(rows, schema)
    # one message per problem, in schema column order (origin comes before distance)
    assert errors[2] == "origin: unknown category 'XYZ'; distance: expected a finite number, got '-'"
    assert errors.count(None) == len(rows) - 1


def test_nan_in_nullable_column_is_fine(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    rows.loc[0, "temp"] = np.nan
    rows.loc[1, "temp"] = None
    coerced, errors = validate_rows(rows, schema)
    assert errors == [None] * len(rows)
    assert coerced["temp"].iloc[:2].isna().all()


def test_unknown_category_policy(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    rows.loc[3, "dest"] = "ZZZ"
    _, rejected = validate_rows(rows, schema, "reject")
    coerced, accepted = validate_rows(rows, schema, "accept")
    assert rejected[3] == "dest: unknown category 'ZZZ'"
    assert accepted == [None] * len(rows)
    assert coerced.loc[3, "dest"] == "ZZZ"


def test_reject_policy_on_real_test_rows(interim: Interim, schema: dict[str, Any], columns: list[str]) -> None:
    """Exactly the test rows holding a category unseen in training are rejected."""
    train, test, _ = interim
    _, errors = validate_rows(test[columns], schema, "reject")
    categorical = [c["name"] for c in schema["columns"] if c["kind"] == "categorical"]
    seen = {c: set(train[c].dropna()) for c in categorical}
    unseen = np.zeros(len(test), dtype=bool)
    for column in categorical:
        unseen |= (test[column].notna() & ~test[column].isin(seen[column])).to_numpy()
    assert unseen.any()
    np.testing.assert_array_equal(np.array([e is not None for e in errors]), unseen)
    assert all("unknown category" in e for e in errors if e is not None)
    _, accepted = validate_rows(test[columns], schema, "accept")
    assert accepted == [None] * len(test)


def test_strings_are_coerced(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    rows.loc[0, "distance"] = "1416"
    rows.loc[1, "time_hour"] = "2013-05-01 10:00:00"  # naive: read as UTC like the training data
    rows.loc[2, "time_hour"] = "2013-05-01T06:00:00-04:00"
    coerced, errors = validate_rows(rows, schema)
    assert errors == [None] * len(rows)
    assert coerced.loc[0, "distance"] == 1416.0
    assert coerced.loc[1, "time_hour"] == pd.Timestamp("2013-05-01 10:00", tz="UTC")
    assert coerced.loc[2, "time_hour"] == pd.Timestamp("2013-05-01 10:00", tz="UTC")


def test_extra_columns_are_ignored(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    with_extra = rows.assign(comment="anything", arr_delay="not a number")
    coerced, errors = validate_rows(with_extra, schema)
    assert errors == [None] * len(rows)
    assert "comment" not in coerced.columns and "arr_delay" not in coerced.columns


def test_categorical_missing_marker_is_not_special(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    """The featurizer's internal missing marker is not a category a caller can send."""
    rows.loc[0, "manufacturer"] = MISSING_CATEGORY
    _, errors = validate_rows(rows, schema, "reject")
    assert errors[0] == f"manufacturer: unknown category {MISSING_CATEGORY!r}"


def test_boolean_column() -> None:
    """A targeted case (the flights data has no boolean input): text and bools are read."""
    schema = infer_schema(pd.DataFrame({"diverted": [True, False, True]}), ["diverted"])
    assert entry(schema, "diverted")["kind"] == "boolean"
    frame = pd.DataFrame({"diverted": [True, "false", "1", "yes", None]})
    coerced, errors = validate_rows(frame, schema)
    assert coerced["diverted"].iloc[:3].tolist() == [True, False, True]
    assert errors[:3] == [None, None, None]
    assert errors[3] == "diverted: expected true or false, got 'yes'"
    assert errors[4] == "diverted: missing value (never missing in training)"


def test_row_index_is_irrelevant(rows: pd.DataFrame, schema: dict[str, Any]) -> None:
    shuffled = rows.set_axis([10, 3, 7, 99, 0, 5])
    shuffled.loc[7, "distance"] = "far"
    _, errors = validate_rows(shuffled, schema)
    assert [e is not None for e in errors] == [False, False, True, False, False, False]


# --- sentinels (`preprocess.na_values`) -------------------------------------------------


def test_sentinels_are_missing_in_a_batch_as_in_training(interim: Interim, columns: list[str]) -> None:
    """The schema carries a column's sentinels, and a batch row holding one reads as missing;
    the same text in a column without sentinels stays an error."""
    train = interim[0]
    nullable = next(c for c in columns if column_kind(train[c]) == "numeric" and train[c].isna().any())
    other = next(c for c in columns if column_kind(train[c]) == "numeric" and c != nullable)
    schema = infer_schema(train, columns, na_values={nullable: ["unknown", -999]})
    assert entry(schema, nullable)["na_values"] == ["unknown", -999] and "na_values" not in entry(schema, other)

    rows = train[columns].iloc[:3].reset_index(drop=True).astype(object)
    rows.loc[0, nullable], rows.loc[1, nullable], rows.loc[2, other] = "unknown", -999, "unknown"
    coerced, errors = validate_rows(rows, schema)
    assert coerced[nullable].iloc[:2].isna().all()
    assert errors[:2] == [None, None]
    assert errors[2] == f"{other}: expected a finite number, got 'unknown'"
