"""The feature pipeline: raw joined columns -> model matrix, as one scikit-learn estimator.

It is fitted on the train split only (rule 4) and saved whole, so the packaged model
applies exactly these transforms to a caller's raw row (rule 5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from lifecycle.config import DatetimeSettings, FeaturizeSettings
from lifecycle.errors import LifecycleError

MISSING_CATEGORY = "__missing__"


class DifferenceColumns(TransformerMixin, BaseEstimator):
    """Append `left - right` columns (domain features such as a plane's age)."""

    def __init__(self, differences: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.differences = differences

    def fit(self, X: pd.DataFrame, y: object = None) -> DifferenceColumns:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        result = X.copy()
        for name, left, right in self.differences:
            result[name] = pd.to_numeric(X[left], errors="coerce").astype("float64") - pd.to_numeric(
                X[right], errors="coerce"
            ).astype("float64")
        return result

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [*self.feature_names_in_, *(name for name, _, _ in self.differences)]
        return np.asarray(names, dtype=object)


class DatetimeParts(TransformerMixin, BaseEstimator):
    """Replace each datetime column with numeric parts (hour, day of week, ...) in a time zone."""

    def __init__(self, parts: tuple[str, ...] = ("hour", "day_of_week", "month"), timezone: str | None = None) -> None:
        self.parts = parts
        self.timezone = timezone

    def fit(self, X: pd.DataFrame, y: object = None) -> DatetimeParts:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.datetime_columns_ = [
            str(c) for c in X.columns if pd.api.types.is_datetime64_any_dtype(X[c])
        ]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        result = X.drop(columns=self.datetime_columns_)
        for column in self.datetime_columns_:
            values = pd.to_datetime(X[column], utc=True)
            if self.timezone is not None:
                values = values.dt.tz_convert(self.timezone)
            for part in self.parts:
                result[f"{column}_{part}"] = getattr(values.dt, part).astype("float64")
        return result

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        kept = [c for c in self.feature_names_in_ if c not in self.datetime_columns_]
        expanded = [f"{c}_{p}" for c in self.datetime_columns_ for p in self.parts]
        return np.asarray([*kept, *expanded], dtype=object)


def _as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain Python objects with one missing marker, whatever the input dtype."""
    return frame.astype(object).where(frame.notna(), MISSING_CATEGORY)


def _categorical_branch(settings: FeaturizeSettings) -> Pipeline:
    if settings.categorical_encoding == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=settings.max_categories,
            min_frequency=settings.min_frequency,
            sparse_output=False,
        )
    else:
        # Unknown categories become -1: gradient boosting reads negative codes as missing,
        # and families that reject NaN (linear, MLP) still get a number.
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            max_categories=settings.max_categories,
            min_frequency=settings.min_frequency,
        )
    objects = FunctionTransformer(_as_object, feature_names_out="one-to-one")
    return Pipeline([("as_object", objects), ("encode", encoder)])


def _numeric_branch(settings: FeaturizeSettings) -> Pipeline:
    steps: list[tuple[str, object]] = [("impute", SimpleImputer(strategy=settings.numeric_imputation))]
    if settings.scale_numeric:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def build_featurizer(settings: FeaturizeSettings) -> Pipeline:
    """The unfitted feature pipeline described by the featurize params."""
    differences = tuple((d.name, d.left, d.right) for d in settings.differences)
    datetime: DatetimeSettings = settings.datetime
    columns = ColumnTransformer(
        [
            ("num", _numeric_branch(settings), make_column_selector(dtype_include=["number", "bool"])),
            ("cat", _categorical_branch(settings), make_column_selector(dtype_exclude=["number", "bool"])),
        ],
        verbose_feature_names_out=True,
    )
    featurizer = Pipeline(
        [
            ("differences", DifferenceColumns(differences)),
            ("datetime", DatetimeParts(tuple(datetime.parts), datetime.timezone)),
            ("columns", columns),
        ]
    )
    return featurizer.set_output(transform="pandas")


def input_columns(
    frame: pd.DataFrame, settings: FeaturizeSettings, excluded: list[str], dropped: Sequence[str] = ()
) -> list[str]:
    """The raw columns the model may read: all but the excluded (outcome and target) columns,
    the columns dropped by role (identifiers, free text, constants) and `featurize.exclude`.

    Columns a difference feature needs are kept even if dropped or excluded by name
    (a constant flight year still gives a plane's age); an outcome never is.
    """
    needed = {c for d in settings.differences for c in (d.left, d.right)}
    missing = sorted(c for c in needed if c not in frame.columns)
    if missing:
        raise LifecycleError(f"featurize.differences: missing column(s) {missing}")
    leaking = sorted(needed & set(excluded))
    if leaking:
        raise LifecycleError(
            f"featurize.differences: {leaking} are outcome or target columns, never features"
        )
    unknown = sorted(c for c in settings.exclude if c not in frame.columns)
    if unknown:
        raise LifecycleError(f"featurize.exclude: unknown column(s) {unknown}")
    removed = (set(settings.exclude) | set(dropped)) - needed | set(excluded)
    columns = [c for c in frame.columns if c not in removed]
    if not columns:
        raise LifecycleError(
            "featurize: no input columns are left after excluding outcomes, the target, "
            "featurize.exclude and the columns dropped by role (see metrics/validation.md)"
        )
    return columns


def fit_featurizer(
    train: pd.DataFrame, columns: list[str], settings: FeaturizeSettings
) -> Pipeline:
    """Fit the feature pipeline on the train rows' input columns."""
    if train.empty:
        raise LifecycleError("featurize: the train split is empty")
    return build_featurizer(settings).fit(train[columns])


def categorical_outputs(featurizer: Pipeline) -> list[str]:
    """Names of output columns holding ordinal category codes (native categorical input).

    One-hot outputs are plain 0/1 numbers, so they are never listed here.
    """
    encoder = featurizer.named_steps["columns"].named_transformers_["cat"].named_steps["encode"]
    if not isinstance(encoder, OrdinalEncoder):
        return []
    return [str(name) for name in featurizer.get_feature_names_out() if str(name).startswith("cat__")]
