"""Table operations (dedupe, join, coerce), target derivation, splitting and preprocess."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifecycle.config import (
    JoinSettings,
    Params,
    PreprocessSettings,
    SplitSettings,
    TargetSettings,
    parse_params,
)
from lifecycle.errors import LifecycleError
from lifecycle.preprocessing.labels import derive_target, raw_label
from lifecycle.preprocessing.splitting import split_rows
from lifecycle.preprocessing.steps import prepare, preprocess, validate
from lifecycle.preprocessing.tables import coerce_dtypes, drop_exact_duplicates, join_table
from lifecycle.sources.summary import summarize_table

FLIGHT_KEY = ["year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"]
WEATHER_JOIN = JoinSettings(source="weather", keys=["origin", "time_hour"], drop=["year", "month", "day", "hour"])
PLANES_JOIN = JoinSettings(source="planes", keys=["tailnum"])


def with_split(settings: PreprocessSettings, **update: Any) -> PreprocessSettings:
    """The preprocess settings with some split options changed."""
    return settings.model_copy(update={"split": settings.split.model_copy(update=update)})


def keys_of(frame: pd.DataFrame) -> set[tuple[object, ...]]:
    return set(frame[FLIGHT_KEY].itertuples(index=False, name=None))


# --- summarize_table and drop_exact_duplicates ---------------------------------------


def test_summarize_table_on_real_planes(raw_tables: dict[str, pd.DataFrame]) -> None:
    planes = raw_tables["planes"]
    summary = summarize_table(planes)
    assert (summary["rows"], summary["columns"]) == planes.shape
    profile = {row["column"]: row for row in summary["profile"]}
    assert list(profile) == list(planes.columns)
    assert profile["seats"]["dtype"] == "int64"
    assert profile["speed"]["nulls"] == int(planes["speed"].isna().sum()) > 0
    assert profile["tailnum"]["nulls"] == 0


def test_drop_exact_duplicates_counts(raw_tables: dict[str, pd.DataFrame]) -> None:
    planes = raw_tables["planes"]
    repeated = planes.iloc[[5, 17, 17]]
    # a row differing in one column is not a duplicate
    near_copy = planes.iloc[[30]].assign(seats=planes["seats"].iloc[30] + 1)
    frame = pd.concat([planes, repeated, near_copy], ignore_index=True)
    deduped, removed = drop_exact_duplicates(frame)
    assert removed == 3
    assert len(deduped) == len(planes) + 1
    pd.testing.assert_frame_equal(deduped.head(len(planes)), planes.reset_index(drop=True))


def test_drop_exact_duplicates_on_clean_real_table(raw_tables: dict[str, pd.DataFrame]) -> None:
    deduped, removed = drop_exact_duplicates(raw_tables["flights"])
    assert removed == 0
    assert len(deduped) == len(raw_tables["flights"])


# --- join_table -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def weather_with_duplicate_key(
    raw_tables: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, tuple[str, str], int]:
    """Real weather plus a modified copy of one row that a sampled flight joins to.

    Returns the table, the duplicated (origin, time_hour) key and how many flights use it.
    """
    flights, weather = raw_tables["flights"], raw_tables["weather"]
    used = weather.merge(flights[["origin", "time_hour"]], on=["origin", "time_hour"])
    counts = used.groupby(["origin", "time_hour"]).size()
    key = counts.idxmax()
    row = weather[(weather["origin"] == key[0]) & (weather["time_hour"] == key[1])]
    assert len(row) == 1
    modified = row.assign(temp=row["temp"] + 40.0)
    return pd.concat([weather, modified], ignore_index=True), key, int(counts.max())


def test_join_never_duplicates_left_rows(
    raw_tables: dict[str, pd.DataFrame],
    weather_with_duplicate_key: tuple[pd.DataFrame, tuple[str, str], int],
) -> None:
    flights = raw_tables["flights"]
    weather, key, uses = weather_with_duplicate_key
    joined, counts = join_table(flights, weather, WEATHER_JOIN)
    assert len(joined) == len(flights)
    assert counts["right_duplicate_keys"] == 1
    pd.testing.assert_frame_equal(joined[flights.columns], flights)
    # the first occurrence is kept, not the modified copy
    hit = joined[(joined["origin"] == key[0]) & (joined["time_hour"] == key[1])]
    original = raw_tables["weather"]
    expected_temp = original.loc[(original["origin"] == key[0]) & (original["time_hour"] == key[1]), "temp"].item()
    assert len(hit) == uses
    assert (hit["temp"] == expected_temp).all()


def test_join_without_unique_would_duplicate(
    raw_tables: dict[str, pd.DataFrame],
    weather_with_duplicate_key: tuple[pd.DataFrame, tuple[str, str], int],
) -> None:
    """`unique: false` keeps both right rows: the documented risk the default avoids."""
    weather, _, uses = weather_with_duplicate_key
    joined, counts = join_table(raw_tables["flights"], weather, WEATHER_JOIN.model_copy(update={"unique": False}))
    assert counts["right_duplicate_keys"] == 0
    assert len(joined) == len(raw_tables["flights"]) + uses


def test_join_counts_unmatched_rows_and_suffixes_clashes(
    raw_tables: dict[str, pd.DataFrame],
) -> None:
    flights, planes = raw_tables["flights"], raw_tables["planes"]
    joined, counts = join_table(flights, planes, PLANES_JOIN)
    unmatched = int((~flights["tailnum"].isin(planes["tailnum"])).sum())
    assert unmatched > 0
    assert counts == {
        "right_duplicate_keys": 0,
        "unmatched_left_rows": unmatched,
        "dropped_by_inner_join": 0,
    }
    assert joined["seats"].isna().sum() == unmatched
    # planes.year clashes with flights.year: the right one gets the source's suffix
    assert "year_planes" in joined.columns
    assert (joined["year"] == 2013).all()
    assert joined["year_planes"].dropna().lt(2014).all()


def test_inner_join_counts_dropped_rows(raw_tables: dict[str, pd.DataFrame]) -> None:
    flights, planes = raw_tables["flights"], raw_tables["planes"]
    unmatched = int((~flights["tailnum"].isin(planes["tailnum"])).sum())
    joined, counts = join_table(flights, planes, PLANES_JOIN.model_copy(update={"how": "inner"}))
    assert counts["dropped_by_inner_join"] == unmatched
    assert counts["unmatched_left_rows"] == 0
    assert len(joined) == len(flights) - unmatched


@pytest.mark.parametrize(
    ("side", "where"),
    [("left", "join of 'weather' (left side)"), ("right", "join of 'weather': missing")],
)
def test_join_missing_key_column_is_named(raw_tables: dict[str, pd.DataFrame], side: str, where: str) -> None:
    flights, weather = raw_tables["flights"], raw_tables["weather"]
    if side == "left":
        flights = flights.drop(columns="time_hour")
    else:
        weather = weather.drop(columns="time_hour")
    with pytest.raises(LifecycleError) as caught:
        join_table(flights, weather, WEATHER_JOIN)
    assert where in str(caught.value)
    assert "missing column(s) ['time_hour']" in str(caught.value)


def test_join_missing_drop_column_is_named(raw_tables: dict[str, pd.DataFrame]) -> None:
    join = WEATHER_JOIN.model_copy(update={"drop": ["year", "visibility"]})
    with pytest.raises(LifecycleError, match=r"\(drop\): missing column\(s\) \['visibility'\]"):
        join_table(raw_tables["flights"], raw_tables["weather"], join)


def test_join_incompatible_key_types(raw_tables: dict[str, pd.DataFrame]) -> None:
    flights = raw_tables["flights"].head(50)
    weather = (
        raw_tables["weather"].head(50).assign(time_hour=pd.to_datetime(raw_tables["weather"]["time_hour"].head(50)))
    )
    with pytest.raises(LifecycleError, match="incompatible types.*declare them in preprocess.dtypes"):
        join_table(flights, weather, WEATHER_JOIN)


# --- coerce_dtypes --------------------------------------------------------------------


def test_coerce_real_time_hour_to_utc(raw_tables: dict[str, pd.DataFrame]) -> None:
    flights = raw_tables["flights"]
    coerced = coerce_dtypes(flights, {"time_hour": "datetime", "flight": "string", "origin": "category"})
    assert str(coerced["time_hour"].dt.tz) == "UTC"
    assert coerced["time_hour"].iloc[0] == pd.Timestamp(flights["time_hour"].iloc[0])
    assert coerced["origin"].dtype == "category"
    assert coerced["flight"].iloc[0] == str(flights["flight"].iloc[0])
    # the input frame is not modified
    assert flights["time_hour"].dtype != coerced["time_hour"].dtype


@pytest.mark.parametrize(
    ("column", "kind", "bad"),
    [
        ("time_hour", "datetime", "not a time"),
        ("dep_delay", "float", "late"),
        ("distance", "int", "far"),
    ],
)
def test_coerce_error_names_column_and_value(
    raw_tables: dict[str, pd.DataFrame], column: str, kind: str, bad: str
) -> None:
    frame = raw_tables["flights"].head(100).copy()
    frame[column] = frame[column].astype(str).astype(object)
    frame.loc[[7, 40], column] = bad
    with pytest.raises(LifecycleError) as caught:
        coerce_dtypes(frame, {column: kind})
    assert str(caught.value) == f"column {column!r}: 2 value(s) cannot be read as {kind}, e.g. {bad!r}"


def test_coerce_int_rejects_fraction_with_column_name(raw_tables: dict[str, pd.DataFrame]) -> None:
    frame = raw_tables["flights"].head(100).copy()
    frame["distance"] = frame["distance"].astype(float)
    frame.loc[3, "distance"] = 1416.5
    with pytest.raises(LifecycleError, match="column 'distance'"):
        coerce_dtypes(frame, {"distance": "int"})


def test_coerce_bool_and_int(raw_tables: dict[str, pd.DataFrame]) -> None:
    frame = (
        raw_tables["flights"]
        .head(6)[["flight"]]
        .assign(flight=lambda f: f["flight"].astype(str), flag=["yes", "No", "1", "f", None, "TRUE"])
    )
    coerced = coerce_dtypes(frame, {"flight": "int", "flag": "bool"})
    assert coerced["flight"].dtype == "Int64"
    assert coerced["flight"].tolist() == raw_tables["flights"]["flight"].head(6).tolist()
    assert coerced["flag"].tolist() == [True, False, True, False, pd.NA, True]
    with pytest.raises(LifecycleError, match=r"column 'flag': 1 value\(s\) cannot be read as bool, e.g. 'maybe'"):
        coerce_dtypes(frame.assign(flag=["yes", "maybe", "no", "no", None, "y"]), {"flag": "bool"})


def test_coerce_missing_column(raw_tables: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(LifecycleError, match=r"preprocess.dtypes: missing column\(s\) \['departure'\]"):
        coerce_dtypes(raw_tables["flights"], {"time_hour": "datetime", "departure": "datetime"})


# --- preprocess on the real sample ----------------------------------------------------


def test_preprocess_report_counts_missing_target(
    raw_tables: dict[str, pd.DataFrame], interim: tuple[pd.DataFrame, pd.DataFrame, dict]
) -> None:
    _, _, report = interim
    expected = int(raw_tables["flights"]["arr_delay"].isna().sum())
    assert expected > 0
    assert report["dropped"]["missing_target"] == expected
    assert report["input_rows"] == {name: len(frame) for name, frame in raw_tables.items()}
    assert report["dropped"]["exact_duplicates"] == {"flights": 0, "weather": 0, "planes": 0}


def test_preprocess_time_split_respects_cutoff(
    params: Params, interim: tuple[pd.DataFrame, pd.DataFrame, dict]
) -> None:
    train, test, _ = interim
    cutoff = pd.Timestamp(params.preprocess.split.cutoff, tz="UTC")
    assert train["time_hour"].max() < cutoff <= test["time_hour"].min()


def test_preprocess_keeps_every_labelled_row_once(
    raw_tables: dict[str, pd.DataFrame], interim: tuple[pd.DataFrame, pd.DataFrame, dict]
) -> None:
    train, test, report = interim
    flights = raw_tables["flights"]
    assert len(train) + len(test) + report["dropped"]["missing_target"] == len(flights)
    assert report["output_rows"] == {"train": len(train), "test": len(test)}
    both = pd.concat([train, test], ignore_index=True)
    assert not both.duplicated(FLIGHT_KEY).any()
    assert keys_of(both) == keys_of(flights[flights["arr_delay"].notna()])


def test_preprocess_target_and_context(params: Params, interim: tuple[pd.DataFrame, pd.DataFrame, dict]) -> None:
    train, test, report = interim
    target = params.preprocess.target
    for frame, name in ((train, "train"), (test, "test")):
        assert frame[target.name].tolist() == (frame[target.column] > target.threshold).astype(int).tolist()
        assert report["target"][name]["positive_rate"] == round(float(frame[target.name].mean()), 6)
        assert {spec.name for spec in params.preprocess.context} <= set(frame.columns)


def test_preprocess_reports_unmatched_join_rows(
    raw_tables: dict[str, pd.DataFrame], interim: tuple[pd.DataFrame, pd.DataFrame, dict]
) -> None:
    """Unmatched counts cover every scheduled flight, recounted here from the raw tables."""
    _, _, report = interim
    flights, weather, planes = raw_tables["flights"], raw_tables["weather"], raw_tables["planes"]
    no_plane = int((~flights["tailnum"].isin(planes["tailnum"])).sum())
    weather_keys = pd.MultiIndex.from_frame(weather[["origin", "time_hour"]])
    no_weather = int((~pd.MultiIndex.from_frame(flights[["origin", "time_hour"]]).isin(weather_keys)).sum())
    assert report["unmatched_in_join"] == {"weather": no_weather, "planes": no_plane}
    assert report["dropped"]["duplicate_join_keys"] == {"weather": 0, "planes": 0}


def test_preprocess_refuses_empty_table(params: Params, raw_tables: dict[str, pd.DataFrame]) -> None:
    tables = {**raw_tables, "planes": raw_tables["planes"].head(0)}
    with pytest.raises(LifecycleError, match="raw table 'planes' is empty"):
        preprocess(tables, params.preprocess)


def test_preprocess_removes_duplicates_before_joining(params: Params, raw_tables: dict[str, pd.DataFrame]) -> None:
    flights = raw_tables["flights"]
    tables = {
        **raw_tables,
        "flights": pd.concat([flights, flights.iloc[[100, 200]]], ignore_index=True),
    }
    train, test, report = preprocess(tables, params.preprocess)
    assert report["dropped"]["exact_duplicates"]["flights"] == 2
    assert len(train) + len(test) + report["dropped"]["missing_target"] == len(flights)


def test_column_roles(roles: dict, interim: tuple[pd.DataFrame, pd.DataFrame, dict], params: Params) -> None:
    assert roles.target == "delayed"
    assert (roles.task, roles.classes) == ("binary", [0, 1])
    assert roles.excluded == sorted({*params.preprocess.outcome_columns, "arr_delay", "delayed"})
    assert roles.dropped == ["year"]  # one flight year: a constant (plane_age still reads it)
    assert set(roles.columns) == set(interim[0].columns) - {"delayed"}
    assert roles.columns["carrier"].role == "categorical"
    assert roles.columns["time_hour"].role == "datetime"
    assert roles.columns["dep_delay"].role == "outcome"


# --- deriving the target --------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled_rows(interim: tuple[pd.DataFrame, pd.DataFrame, dict]) -> pd.DataFrame:
    """Real joined rows (the interim train sample) to derive targets from."""
    return interim[0]


def test_derive_target_drops_and_counts_missing(labelled_rows: pd.DataFrame, params: Params) -> None:
    frame = labelled_rows.copy()
    frame.loc[[0, 5, 9], "arr_delay"] = np.nan
    label = raw_label(frame, params.preprocess.target)
    assert label.isna().sum() == 3
    kept, missing = derive_target(frame, label, "delayed")
    assert missing == 3
    assert len(kept) == len(frame) - 3
    assert kept["delayed"].isin([0, 1]).all()


def test_raw_label_of_a_missing_column_is_none(labelled_rows: pd.DataFrame, params: Params) -> None:
    assert raw_label(labelled_rows.drop(columns="arr_delay"), params.preprocess.target) is None


def test_derive_target_all_missing(labelled_rows: pd.DataFrame, params: Params) -> None:
    frame = labelled_rows.assign(arr_delay=np.nan)
    with pytest.raises(LifecycleError, match="target 'delayed' has no values"):
        derive_target(frame, raw_label(frame, params.preprocess.target), "delayed")


def test_derive_target_threshold_needs_numbers(labelled_rows: pd.DataFrame) -> None:
    with pytest.raises(LifecycleError, match="target column 'carrier' has dtype .*a threshold needs numbers"):
        raw_label(labelled_rows, TargetSettings(column="carrier", name="y", threshold=1.0))


def test_derive_target_without_threshold_uses_column(labelled_rows: pd.DataFrame) -> None:
    label = raw_label(labelled_rows, TargetSettings(column="origin", name="label"))
    kept, missing = derive_target(labelled_rows, label, "label")
    assert missing == 0
    assert kept["label"].tolist() == labelled_rows["origin"].tolist()


def test_derive_target_threshold_in_place(labelled_rows: pd.DataFrame) -> None:
    target = TargetSettings(column="arr_delay", name="arr_delay", threshold=15)
    kept, _ = derive_target(labelled_rows, raw_label(labelled_rows, target), "arr_delay")
    assert set(kept["arr_delay"].unique()) == {0, 1}


def test_constant_target_stops_preprocess_at_validation(params: Params, raw_tables: dict[str, pd.DataFrame]) -> None:
    target = params.preprocess.target.model_copy(update={"threshold": 100_000.0})
    settings = params.preprocess.model_copy(update={"target": target})
    with pytest.raises(LifecycleError, match="arr_delay"):
        preprocess(raw_tables, settings)


# --- split options --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["random", "stratified"])
def test_random_and_stratified_split(params: Params, raw_tables: dict[str, pd.DataFrame], method: str) -> None:
    settings = with_split(params.preprocess, method=method, test_fraction=0.25, seed=5)
    train, test, report = preprocess(raw_tables, settings)
    rows = len(train) + len(test)
    assert rows + report["dropped"]["missing_target"] == len(raw_tables["flights"])
    assert len(test) == math.ceil(0.25 * rows)
    assert not keys_of(train) & keys_of(test)
    # rows stay in the raw table's order within each side
    position = {key: i for i, key in enumerate(raw_tables["flights"][FLIGHT_KEY].itertuples(index=False, name=None))}
    for side in (train, test):
        order = [position[key] for key in side[FLIGHT_KEY].itertuples(index=False, name=None)]
        assert order == sorted(order)
    # both sides span the whole year, unlike the time split
    assert test["time_hour"].min() < pd.Timestamp(params.preprocess.split.cutoff, tz="UTC")
    again, _, _ = preprocess(raw_tables, settings)
    pd.testing.assert_frame_equal(train, again)
    other, _, _ = preprocess(raw_tables, with_split(settings, seed=6))
    assert keys_of(other) != keys_of(train)


def test_stratified_split_preserves_positive_rate(params: Params, raw_tables: dict[str, pd.DataFrame]) -> None:
    settings = with_split(params.preprocess, method="stratified", test_fraction=0.2, seed=5)
    train, test, _ = preprocess(raw_tables, settings)
    assert abs(train["delayed"].mean() - test["delayed"].mean()) <= 1.0 / len(test)


def test_stratified_split_of_a_regression_target_keeps_its_range_in_both_sides(
    interim: tuple[pd.DataFrame, pd.DataFrame, dict],
) -> None:
    """Arrival delay as a regression target: a tenth of the test rows in each tenth of the
    target's range, where a random split leaves that to chance."""
    frame = interim[0].dropna(subset=["arr_delay"]).reset_index(drop=True)
    split = SplitSettings(method="stratified", test_fraction=0.2, seed=5)
    train, test = split_rows(frame, split, "arr_delay", classification=False)
    assert len(train) + len(test) == len(frame)
    order = frame["arr_delay"].rank(method="first")
    for tenth in range(10):
        rows = frame.loc[(order > tenth * len(frame) / 10) & (order <= (tenth + 1) * len(frame) / 10)]
        in_test = rows.merge(test, how="inner", on=FLIGHT_KEY)
        assert abs(len(in_test) - 0.2 * len(rows)) <= 2  # a random split: about ±9


def test_time_split_errors(interim: tuple[pd.DataFrame, pd.DataFrame, dict], params: Params) -> None:
    train, _, _ = interim
    split = params.preprocess.split
    with pytest.raises(LifecycleError, match="has dtype .*expected a datetime"):
        split_rows(train.assign(time_hour=train["time_hour"].astype(str)), split, "delayed")
    holes = train.copy()
    holes.loc[[1, 2], "time_hour"] = pd.NaT
    with pytest.raises(LifecycleError, match=r"has 2 missing value\(s\)"):
        split_rows(holes, split, "delayed")
    with pytest.raises(LifecycleError, match="leaves the test set empty"):
        split_rows(train, split.model_copy(update={"cutoff": "2014-01-01"}), "delayed")
    with pytest.raises(LifecycleError, match="leaves the train set empty"):
        split_rows(train, split.model_copy(update={"cutoff": "2012-01-01"}), "delayed")


def test_time_split_cutoff_is_read_in_the_column_time_zone(
    interim: tuple[pd.DataFrame, pd.DataFrame, dict],
) -> None:
    """A naive cutoff is read in the column's zone (UTC here), not New York local time."""
    train, _, _ = interim
    split = SplitSettings(method="time", time_column="time_hour", cutoff="2013-06-01 12:00")
    before, after = split_rows(train, split, "delayed")
    boundary = pd.Timestamp("2013-06-01 12:00", tz="UTC")
    assert before["time_hour"].max() < boundary <= after["time_hour"].min()


def test_unparseable_cutoff_is_a_lifecycle_error(params: Params, raw_tables: dict[str, pd.DataFrame]) -> None:
    raw = params.model_dump(mode="json")
    raw["preprocess"]["split"]["cutoff"] = "first of November"
    with pytest.raises(LifecycleError, match="cutoff"):
        preprocess(raw_tables, parse_params(raw).preprocess)


def test_duplicate_source_rows_are_reported_before_they_are_removed(
    params: Params, raw_tables: dict[str, pd.DataFrame]
) -> None:
    flights = raw_tables["flights"]
    repeated = flights.head(1000)
    tables = {**raw_tables, "flights": pd.concat([flights, repeated], ignore_index=True)}
    prepared = prepare(tables, params.preprocess)
    report = validate(prepared, params.preprocess, params.validation)
    found = [c for c in report["checks"] if c["check"] == "duplicates"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert found[0]["message"].startswith(f"source 'flights': 1000 of {len(flights) + 1000} rows")
    assert found[0]["value"] == round(1000 / (len(flights) + 1000), 6)
