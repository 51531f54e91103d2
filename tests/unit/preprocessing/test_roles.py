"""Task and column-role inference on real tables: the flights sample and scikit-learn's datasets."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from lifecycle.config import RoleInferenceSettings, TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.roles import apply_roles, dropped_columns, infer_roles, infer_task
from lifecycle.preprocessing.steps import Prepared
from lifecycle.tasks.binary import BINARY, positive_label
from lifecycle.tasks.multiclass import MULTICLASS

INFERENCE = RoleInferenceSettings()


def task_of(values: pd.Series, **target: object) -> str | None:
    settings = TargetSettings(column=str(values.name), **target)
    return infer_task(values, settings, INFERENCE)


# --- task ---------------------------------------------------------------------------------


def test_tasks_of_the_scikit_learn_datasets_are_inferred(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lifecycle.preprocessing.roles"):
        assert task_of(load_breast_cancer(as_frame=True).target) == "binary"
        assert task_of(load_wine(as_frame=True).target) == "multiclass"
        assert task_of(load_diabetes(as_frame=True).target) == "regression"
    assert "task inferred from target 'target': regression" in caplog.text


def test_text_labels_are_classes_and_many_integers_are_a_quantity(prepared: Prepared) -> None:
    flights = prepared.table
    assert task_of(flights["origin"]) == "multiclass"  # three airports
    assert task_of(flights["carrier"]) == "multiclass"  # 16 carriers, as text
    assert task_of(flights["arr_delay"]) == "regression"  # hundreds of distinct minutes
    assert task_of(flights["month"]) == "multiclass"  # 12 integer codes ≤ max_classes
    assert task_of(flights["arr_delay"], threshold=15) == "binary"


def test_a_constant_target_has_no_task(prepared: Prepared) -> None:
    assert task_of(prepared.table["year"]) is None


def test_declared_task_is_checked_against_the_values(prepared: Prepared) -> None:
    flights = prepared.table
    assert task_of(flights["month"], task="regression") == "regression"
    with pytest.raises(LifecycleError, match="task is regression, but target column 'carrier'"):
        task_of(flights["carrier"], task="regression")
    with pytest.raises(LifecycleError, match=r"task is binary, but target column 'origin' has 3"):
        task_of(flights["origin"], task="binary")


def test_threshold_only_with_a_binary_task() -> None:
    with pytest.raises(ValueError, match="threshold"):
        TargetSettings(column="arr_delay", threshold=15, task="regression")


# --- positive label and encoding ---------------------------------------------------------


def test_string_positive_label_is_encoded_as_one() -> None:
    data = load_breast_cancer(as_frame=True)
    names = data.target.map(dict(enumerate(data.target_names))).rename("diagnosis")
    target = TargetSettings(column="diagnosis", positive_label="malignant")
    encoded, classes = BINARY.encode_label(names, target)
    assert classes == ["benign", "malignant"]
    assert encoded.tolist() == (names == "malignant").astype(int).tolist()
    assert encoded.sum() == (data.target == 0).sum()  # scikit-learn codes malignant as 0


def test_default_positive_label_is_one_or_the_second_sorted_value() -> None:
    data = load_breast_cancer(as_frame=True)
    assert positive_label(data.target, TargetSettings(column="target")) == 1
    names = data.target.map(dict(enumerate(data.target_names)))
    assert positive_label(names, TargetSettings(column="target")) == "malignant"


def test_unknown_positive_label_lists_the_values() -> None:
    names = load_breast_cancer(as_frame=True).target.map({0: "malignant", 1: "benign"})
    with pytest.raises(LifecycleError, match=r"positive_label 'cancer' is not a value .*\['benign', 'malignant'\]"):
        positive_label(names, TargetSettings(column="diagnosis", positive_label="cancer"))


def test_multiclass_classes_are_sorted_native_values() -> None:
    target = load_wine(as_frame=True).target
    encoded, classes = MULTICLASS.encode_label(target, TargetSettings(column="target"))
    assert classes == [0, 1, 2]
    assert all(type(c) is int for c in classes)
    assert encoded.equals(target)


# --- column roles ---------------------------------------------------------------------------


def test_flight_columns_get_their_roles(prepared: Prepared) -> None:
    roles = prepared.roles
    assert roles["year"] == {"role": "constant", "reason": "a single value (2013)"}
    assert roles["time_hour"]["role"] == "datetime"
    assert roles["carrier"]["role"] == "categorical"
    assert roles["distance"]["role"] == "numeric"
    assert roles["arr_delay"]["role"] == "target"
    assert roles["dep_delay"]["role"] == "outcome"
    assert dropped_columns(roles) == ["year"]


def test_identifier_text_and_empty_columns_are_dropped_with_a_reason(
    prepared: Prepared, caplog: pytest.LogCaptureFixture
) -> None:
    flights = prepared.table.head(2000).reset_index(drop=True)
    frame = flights.assign(
        row_id=range(len(flights)),
        booking_ref=[f"R{i:06d}" for i in range(len(flights))],
        remark=flights["carrier"] + " flight to " + flights["dest"] + " from " + flights["origin"],
        empty=pd.Series([None] * len(flights), dtype=object),
    )
    target = TargetSettings(column="arr_delay", name="delayed", threshold=15)
    with caplog.at_level(logging.INFO, logger="lifecycle.preprocessing.roles"):
        roles = infer_roles(frame, target, [], {}, INFERENCE)
    assert roles["row_id"] == {"role": "identifier", "reason": "integers, 100% distinct"}
    assert roles["booking_ref"] == {"role": "identifier", "reason": "text, 100% distinct"}
    assert roles["remark"]["role"] == "text"
    assert roles["empty"] == {"role": "constant", "reason": "no values at all"}
    assert roles["flight"]["role"] == "numeric"  # flight numbers repeat: not an identifier
    assert {"row_id", "booking_ref", "remark", "empty"} <= set(dropped_columns(roles))
    assert "column 'booking_ref' dropped: identifier (text, 100% distinct)" in caplog.text


def test_declared_roles_win_and_change_the_dtype(prepared: Prepared) -> None:
    flights = prepared.table.head(500).assign(distance=lambda f: f["distance"].astype(str))
    target = TargetSettings(column="arr_delay", threshold=15)
    declared = {"flight": "categorical", "distance": "numeric", "tailnum": "drop"}
    roles = infer_roles(flights, target, [], declared, INFERENCE)
    assert roles["flight"] == {"role": "categorical", "reason": "set in preprocess.roles"}
    assert "tailnum" in dropped_columns(roles)
    applied = apply_roles(flights, roles)
    assert applied["flight"].tolist() == flights["flight"].astype(str).tolist()
    assert not pd.api.types.is_numeric_dtype(applied["flight"])
    assert applied["distance"].tolist() == prepared.table.head(500)["distance"].astype(float).tolist()


def test_unknown_or_impossible_declared_roles_are_named(prepared: Prepared) -> None:
    flights = prepared.table.head(200)
    target = TargetSettings(column="arr_delay", threshold=15)
    with pytest.raises(LifecycleError, match=r"preprocess.roles: unknown column\(s\) \['no_such'\]"):
        infer_roles(flights, target, [], {"no_such": "numeric"}, INFERENCE)
    roles = infer_roles(flights, target, [], {"carrier": "numeric"}, INFERENCE)
    with pytest.raises(LifecycleError, match="column 'carrier'.*cannot be read as float"):
        apply_roles(flights, roles)


def test_year_first_dates_in_text_are_inferred_and_parsed(prepared: Prepared) -> None:
    """A CSV loses the datetime dtype: year-first text (ISO 8601, or with slashes as R and
    spreadsheets write it) is read back as dates; other text is not."""
    flights = prepared.table.head(300)
    frame = flights.assign(
        scheduled=flights["time_hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        day_text=flights["time_hour"].dt.strftime("%Y-%m-%d"),
        slashes=flights["time_hour"].dt.strftime("%Y/%m/%d"),
        us_date=flights["time_hour"].dt.strftime("%m/%d/%Y"),
    )
    target = TargetSettings(column="arr_delay", threshold=15)
    roles = infer_roles(frame, target, [], {}, INFERENCE)
    assert roles["scheduled"]["role"] == roles["day_text"]["role"] == roles["slashes"]["role"] == "datetime"
    assert roles["us_date"]["role"] == "categorical"  # ambiguous day/month order: not guessed
    applied = apply_roles(frame, roles)
    assert (applied["scheduled"] == flights["time_hour"].dt.tz_convert("UTC")).all()
    assert pd.api.types.is_datetime64_any_dtype(applied["day_text"])
    assert (applied["slashes"] == applied["day_text"]).all()


def test_text_whose_rows_mostly_hold_a_value_at_most_two_rows_share_is_an_identifier(prepared: Prepared) -> None:
    """A tail number among 300 flights is nearly always one plane's first or second flight:
    a category nothing can be learned from, and mostly unseen when serving. Among all the
    sample's flights the same column repeats enough to stay a category, as the carrier does."""
    target = TargetSettings(column="arr_delay", threshold=15)
    few = infer_roles(prepared.table.head(300), target, [], {}, INFERENCE)
    assert few["tailnum"]["role"] == "identifier"
    assert "of rows hold a value at most two rows share" in few["tailnum"]["reason"]
    assert few["carrier"]["role"] == few["origin"]["role"] == "categorical"
    many = infer_roles(prepared.table, target, [], {}, INFERENCE)
    assert many["tailnum"]["role"] == "categorical"
    # the share is a setting: at 1.0 only an all-rare column would be an identifier
    lenient = infer_roles(prepared.table.head(300), target, [], {}, RoleInferenceSettings(identifier_rare_share=1.0))
    assert lenient["tailnum"]["role"] == "categorical"
