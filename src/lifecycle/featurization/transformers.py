"""The project's own transformers inside the fitted feature pipeline; code that runs when a
bundle is unpickled.

These classes and `as_object` are pickled by reference (module path and name) inside
every featurizer and bundle, so their names are a contract with bundles already
packaged: renaming one breaks loading them (see `lifecycle.packaging.inference` for the
import paths of older bundles). Behaviour here changes every packaged model's code hash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

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
        result = X.copy(deep=False)  # copy-on-write: assigning a column leaves `X` as it was
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
        self.datetime_columns_ = [str(c) for c in X.columns if pd.api.types.is_datetime64_any_dtype(X[c])]
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


def as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain Python objects with one missing marker, whatever the input dtype."""
    return frame.astype(object).where(frame.notna(), MISSING_CATEGORY)


# The name bundles packaged before the featurization package existed pickled.
_as_object = as_object
