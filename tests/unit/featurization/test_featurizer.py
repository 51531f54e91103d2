"""The feature pipeline: which raw columns are inputs, and transforms fitted on train only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from lifecycle.config import DifferenceFeature, FeaturizeSettings, Params
from lifecycle.errors import LifecycleError
from lifecycle.featurization import featurizer as featurizer_module
from lifecycle.featurization.featurizer import categorical_outputs, feature_matrix, fit_featurizer, input_columns
from lifecycle.featurization.transformers import MISSING_CATEGORY, DatetimeParts, DifferenceColumns
from tests.support.samples import Interim


def settings_with(params: Params, **update: object) -> FeaturizeSettings:
    return params.featurize.model_copy(update=update)


@pytest.fixture(scope="module", params=["ordinal", "onehot"])
def fitted(
    request: pytest.FixtureRequest, interim: Interim, params: Params, columns: list[str]
) -> tuple[str, Pipeline]:
    """The featurizer fitted on the interim train sample, with each categorical encoding."""
    encoding = request.param
    return encoding, fit_featurizer(interim[0], columns, settings_with(params, categorical_encoding=encoding))


def as_category_text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), MISSING_CATEGORY)


# --- input_columns --------------------------------------------------------------------


def test_input_columns_exclude_outcomes_target_and_identifiers(columns: list[str], params: Params, roles: dict) -> None:
    outcomes = {"dep_time", "dep_delay", "arr_time", "air_time", "arr_delay"}
    assert outcomes == set(params.preprocess.outcome_columns)
    assert not outcomes & set(columns)
    assert roles.target not in columns
    assert not {"flight", "tailnum", "speed"} & set(columns)
    # `year` is listed in featurize.exclude but plane_age needs it, so it stays an input
    assert "year" in columns and "year_planes" in columns
    assert {"origin", "dest", "carrier", "time_hour", "origin_dep_delay_prev_2h", "temp"} <= set(columns)


def test_input_columns_keep_frame_order(columns: list[str], interim: Interim) -> None:
    order = list(interim[0].columns)
    assert [order.index(c) for c in columns] == sorted(order.index(c) for c in columns)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (
            {"differences": [DifferenceFeature(name="block_time", left="arr_time", right="dep_time")]},
            r"\['arr_time', 'dep_time'\] are outcome or target columns",
        ),
        (
            {"differences": [DifferenceFeature(name="x", left="year", right="built")]},
            r"featurize.differences: missing column\(s\) \['built'\]",
        ),
        (
            {"exclude": ["flight", "tail_number"]},
            r"featurize.exclude: unknown column\(s\) \['tail_number'\]",
        ),
    ],
    ids=["difference-on-outcome-column", "difference-on-missing-column", "unknown-exclude"],
)
def test_bad_featurize_settings_are_refused(
    interim: Interim, params: Params, roles: dict, update: dict[str, object], message: str
) -> None:
    with pytest.raises(LifecycleError, match=message):
        input_columns(interim[0], settings_with(params, **update), roles.excluded, roles.dropped)


# --- fit / transform ------------------------------------------------------------------


def test_transform_test_gives_expected_columns(
    fitted: tuple[str, Pipeline], interim: Interim, columns: list[str]
) -> None:
    encoding, featurizer = fitted
    train, test, _ = interim
    matrix = featurizer.transform(test[columns])
    names = list(matrix.columns)
    assert names == [str(n) for n in featurizer.get_feature_names_out()]
    assert len(matrix) == len(test)
    expected = {
        "num__plane_age",
        "num__time_hour_hour",
        "num__time_hour_day_of_week",
        "num__time_hour_month",
        "num__time_hour_day_of_year",
        "num__distance",
        "num__origin_dep_delay_prev_2h",
    }
    assert expected <= set(names)
    assert "num__time_hour" not in names and not any(n.endswith("__time_hour") for n in names)
    if encoding == "ordinal":
        assert {"cat__origin", "cat__dest", "cat__carrier"} <= set(names)
        assert categorical_outputs(featurizer) == [n for n in names if n.startswith("cat__")]
    else:
        assert {"cat__origin_EWR", "cat__origin_JFK", "cat__origin_LGA"} <= set(names)
        assert categorical_outputs(featurizer) == []
    # numeric features are imputed: never NaN
    assert not matrix.filter(like="num__").isna().any().any()


def test_unseen_categories_get_a_code_of_their_own(
    fitted: tuple[str, Pipeline], interim: Interim, columns: list[str]
) -> None:
    """One-hot never yields NaN. Ordinal gives a test row's unseen category a value no
    training row has (missing for gradient boosting), and seen categories their train code."""
    encoding, featurizer = fitted
    train, test, _ = interim
    matrix = featurizer.transform(test[columns])
    if encoding == "onehot":
        assert not matrix.isna().any().any()
        return
    train_matrix = featurizer.transform(train[columns])
    categorical = [c for c in columns if f"cat__{c}" in matrix.columns]
    assert categorical
    any_unseen = False
    for column in categorical:
        codes = matrix[f"cat__{column}"].to_numpy()
        train_codes = set(train_matrix[f"cat__{column}"])
        unseen = (~as_category_text(test[column]).isin(set(as_category_text(train[column])))).to_numpy()
        any_unseen |= bool(unseen.any())
        assert all(np.isnan(code) or code < 0 for code in codes[unseen])
        assert all(code in train_codes for code in codes[~unseen])
    assert any_unseen  # the sample's test months bring new destinations / plane models


def test_train_transform_has_no_nan(fitted: tuple[str, Pipeline], interim: Interim, columns: list[str]) -> None:
    _, featurizer = fitted
    assert not featurizer.transform(interim[0][columns]).isna().any().any()


def test_scaler_and_imputer_fitted_on_train_only(
    fitted: tuple[str, Pipeline], interim: Interim, columns: list[str]
) -> None:
    _, featurizer = fitted
    train, test, _ = interim
    numeric = featurizer.named_steps["columns"].named_transformers_["num"]
    scaler, imputer = numeric.named_steps["scale"], numeric.named_steps["impute"]
    names = list(scaler.feature_names_in_)
    both = pd.concat([train, test])
    for column in ("distance", "sched_dep_time"):
        assert train[column].notna().all()
        mean = scaler.mean_[names.index(column)]
        assert mean == pytest.approx(train[column].mean(), rel=1e-12)
        assert abs(mean - both[column].mean()) > 1e-3
    for column in ("wind_gust", "year_planes", "origin_dep_delay_prev_2h"):
        assert train[column].isna().any()
        assert imputer.statistics_[names.index(column)] == train[column].median()
    recent = names.index("origin_dep_delay_prev_2h")
    assert imputer.statistics_[recent] != both["origin_dep_delay_prev_2h"].median()


def test_transform_is_row_wise(fitted: tuple[str, Pipeline], interim: Interim, columns: list[str]) -> None:
    """A row's features do not depend on the other rows it is transformed with."""
    _, featurizer = fitted
    test = interim[1][columns]
    whole = featurizer.transform(test)
    alone = featurizer.transform(test.iloc[[17]])
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), whole.iloc[[17]].reset_index(drop=True))


def test_the_matrix_transformed_in_pieces_is_the_matrix_of_one_call(
    fitted: tuple[str, Pipeline], interim: Interim, columns: list[str], params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, featurizer = fitted
    train = interim[0]
    target = params.preprocess.target.name
    whole = featurizer.transform(train[columns]).reset_index(drop=True)
    whole[target] = train[target].to_numpy()
    monkeypatch.setattr(featurizer_module, "TRANSFORM_ROWS", 700)  # pieces of 700 rows, the last shorter
    assert len(train) > 2 * 700 and len(train) % 700
    pd.testing.assert_frame_equal(feature_matrix(featurizer, train, columns, target), whole, check_exact=True)


def test_unknown_category_in_test(fitted: tuple[str, Pipeline], interim: Interim, columns: list[str]) -> None:
    encoding, featurizer = fitted
    rows = interim[1][columns].head(5).copy()
    rows["dest"] = rows["dest"].astype(object)
    rows.loc[rows.index[0], "dest"] = "ZZZ"
    matrix = featurizer.transform(rows)
    assert len(matrix) == 5
    if encoding == "ordinal":
        unseen = matrix["cat__dest"].iloc[0]
        assert np.isnan(unseen) or unseen < 0
        assert (matrix["cat__dest"].iloc[1:] >= 0).all()
    else:
        dest = matrix.filter(like="cat__dest_")
        assert dest.iloc[0].sum() == 1.0
        assert dest["cat__dest_infrequent_sklearn"].iloc[0] == 1.0  # unseen -> the infrequent bucket
        assert not matrix.isna().any().any()


def test_plane_age_difference(interim: Interim) -> None:
    train = interim[0]
    step = DifferenceColumns((("plane_age", "year", "year_planes"),)).fit(train)
    result = step.transform(train)
    np.testing.assert_array_equal(result["plane_age"].to_numpy(), (train["year"] - train["year_planes"]).to_numpy())
    assert result["plane_age"].isna().sum() == train["year_planes"].isna().sum() > 0
    assert list(step.get_feature_names_out()) == [*train.columns, "plane_age"]


def test_fit_on_empty_train_is_refused(interim: Interim, params: Params, columns: list[str]) -> None:
    with pytest.raises(LifecycleError, match="the train split is empty"):
        fit_featurizer(interim[0].head(0), columns, params.featurize)


# --- DatetimeParts --------------------------------------------------------------------


def test_datetime_parts_use_the_time_zone() -> None:
    """10:00 UTC is 05:00 in New York in winter (EST) and 06:00 in summer (EDT)."""
    frame = pd.DataFrame({"at": pd.to_datetime(["2013-01-15 10:00", "2013-07-15 10:00", "2013-03-01 02:00"], utc=True)})
    local = DatetimeParts(("hour", "day_of_week", "day"), "America/New_York").fit(frame).transform(frame)
    assert local["at_hour"].tolist() == [5.0, 6.0, 21.0]
    # 2013-03-01 02:00 UTC is still Thursday 28 February in New York
    assert local["at_day"].tolist() == [15.0, 15.0, 28.0]
    assert local["at_day_of_week"].tolist() == [1.0, 0.0, 3.0]
    utc = DatetimeParts(("hour",), None).fit(frame).transform(frame)
    assert utc["at_hour"].tolist() == [10.0, 10.0, 2.0]


def test_datetime_parts_on_real_time_hour(interim: Interim) -> None:
    """The sample's scheduled hour (local time) matches time_hour's hour in New York."""
    train = interim[0][["time_hour", "hour"]]
    step = DatetimeParts(("hour",), "America/New_York").fit(train)
    result = step.transform(train)
    assert list(result.columns) == list(step.get_feature_names_out()) == ["hour", "time_hour_hour"]
    assert result["time_hour_hour"].tolist() == train["hour"].astype(float).tolist()
