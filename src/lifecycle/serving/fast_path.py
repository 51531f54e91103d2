"""A compiled copy of the fitted inference pipeline for small requests, with identical output.

Why: the packaged pipeline (pandas frame -> DifferenceColumns -> DatetimeParts ->
ColumnTransformer -> HistGradientBoosting) costs several milliseconds per call whatever
the number of rows, almost all of it pandas and scikit-learn bookkeeping. Here every
fitted step is read once into plain arrays and dictionaries, and a request's rows go
straight to the model's own tree predictors:

- numeric columns, difference features and datetime parts are computed with the same
  float64 operations the transformers apply (subtract, impute the fitted statistic,
  subtract the fitted mean, divide by the fitted scale);
- every categorical value maps, through a table built by running the fitted encoders
  themselves on every known category, to the code the model's trees read;
- the trees are scikit-learn's own predictors, summed in the same order from the same
  baseline, then the model's own link function.

Every task is compiled: a binary classifier's output is the positive class's probability,
a multiclass one's the (n, k) probability matrix in the model's class order, a regressor's
the predicted value, each what `Task.model_scores` gives for the packaged pipeline.
`tests/unit/serving/test_fast_path.py` and `test_tasks.py` prove them equal to the
pipeline's, bit for bit, on the test split of a bundle of each task. Pipelines of another
shape are not compiled: `compile_fast_path` returns None and the service uses the packaged
pipeline through `Bundle.predict`. That is every other model family (their fitted objects
have no compiled predictor to call: the linear, forest and MLP families would each need
their own re-implementation, to be proven equal in turn) and one-hot encoding (the
family the flights default and the search favour is gradient boosting, whose native
categorical support wants ordinal codes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

from lifecycle.featurization.transformers import MISSING_CATEGORY, DatetimeParts, DifferenceColumns

logger = logging.getLogger(__name__)

Record = dict[str, Any]
Column = Callable[[Sequence[Record]], np.ndarray]

# A value no fitted encoder has seen: what an unknown category maps to.
UNSEEN_CATEGORY = "\x00lifecycle-unseen-category\x00"

_DATETIME_PARTS: dict[str, Callable[[datetime], int]] = {
    "hour": lambda t: t.hour,
    "minute": lambda t: t.minute,
    "day": lambda t: t.day,
    "month": lambda t: t.month,
    "year": lambda t: t.year,
    "day_of_week": lambda t: t.weekday(),
    "day_of_year": lambda t: t.timetuple().tm_yday,
}


class NotCompilable(Exception):
    """The pipeline has a shape this module does not compile (the caller falls back)."""


def _numbers(values: Sequence[Any]) -> np.ndarray:
    """Floats, None as NaN: numpy converts both itself (what `float(v)` gives, in C)."""
    return np.array(values, dtype=np.float64)


def _input_column(name: str) -> Column:
    return lambda records: _numbers([r[name] for r in records])


def _difference_column(left: Column, right: Column) -> Column:
    return lambda records: left(records) - right(records)


def _datetime_part_column(name: str, part: str, zone: ZoneInfo | None) -> Column:
    """The part of each row's moment in the time zone, computed once per distinct moment.

    Why once: a batch's rows mostly share a few moments (a 100-row flights batch holds 2 to
    6), and the conversion to the zone cost more than everything else the path computes per
    row. Moments are keyed with their `fold`: aware moments on one tzinfo compare equal by
    wall time alone, whatever their fold, and the fold can change the zone's offset."""
    extract = _DATETIME_PARTS[part]

    def value(moment: datetime | None) -> float:
        if moment is None:
            return np.nan
        if moment.tzinfo is None:  # naive times are UTC, as validate_rows reads them
            moment = moment.replace(tzinfo=UTC)
        return float(extract(moment.astimezone(zone) if zone else moment.astimezone(UTC)))

    def column(records: Sequence[Record]) -> np.ndarray:
        parts: dict[tuple[datetime | None, int], float] = {}
        values = []
        for record in records:
            moment = record[name]
            key = (moment, 0 if moment is None else moment.fold)
            if (known := parts.get(key)) is None:
                known = parts[key] = value(moment)
            values.append(known)
        return np.array(values, dtype=np.float64)

    return column


def _feature_columns(features: Pipeline, input_names: list[str]) -> dict[str, Column]:
    """A function per column the ColumnTransformer receives, from raw records."""
    differences, dates = features.named_steps.get("differences"), features.named_steps.get("datetime")
    if not isinstance(differences, DifferenceColumns) or not isinstance(dates, DatetimeParts):
        raise NotCompilable("the featurizer is not DifferenceColumns -> DatetimeParts -> columns")
    columns: dict[str, Column] = {name: _input_column(name) for name in input_names}
    for name, left, right in differences.differences:
        columns[name] = _difference_column(columns[left], columns[right])
    zone = ZoneInfo(dates.timezone) if dates.timezone else None
    for name in dates.datetime_columns_:
        del columns[name]
        for part in dates.parts:
            if part not in _DATETIME_PARTS:
                raise NotCompilable(f"datetime part {part!r}")
            columns[f"{name}_{part}"] = _datetime_part_column(name, part, zone)
    return columns


@dataclass(frozen=True)
class _NumericBlock:
    """Impute with the fitted statistics, then standardise with the fitted mean and scale."""

    columns: list[Column]
    fill: np.ndarray
    mean: np.ndarray | None
    scale: np.ndarray | None

    def transform(self, records: Sequence[Record]) -> np.ndarray:
        if not self.columns:  # a table without numbers
            return np.empty((len(records), 0), dtype=np.float64)
        matrix = np.column_stack([column(records) for column in self.columns])
        missing = np.isnan(matrix)
        if missing.any():
            matrix[missing] = np.broadcast_to(self.fill, matrix.shape)[missing]
        if self.mean is not None:
            matrix -= self.mean
        if self.scale is not None:
            matrix /= self.scale
        return matrix


def _numeric_block(branch: Pipeline | None, columns: list[Column]) -> _NumericBlock:
    if branch is None:  # no numeric column: nothing to impute or scale
        return _NumericBlock([], np.empty(0, dtype=np.float64), None, None)
    steps = list(branch.named_steps.values())
    imputer, scaler = steps[0], steps[1] if len(steps) > 1 else None
    if not isinstance(imputer, SimpleImputer) or len(imputer.statistics_) != len(columns):
        raise NotCompilable("the numeric branch is not a SimpleImputer keeping every column")
    if len(steps) > 2 or (scaler is not None and not isinstance(scaler, StandardScaler)):
        raise NotCompilable("the numeric branch is not SimpleImputer [-> StandardScaler]")
    mean = scaler.mean_ if scaler is not None and scaler.with_mean else None
    scale = scaler.scale_ if scaler is not None and scaler.with_std else None
    return _NumericBlock(columns, imputer.statistics_.astype(np.float64), mean, scale)


def _category_codes(branch: Pipeline, names: list[str]) -> list[dict[Any, float]]:
    """Per categorical column: known value (and the missing marker, and UNSEEN_CATEGORY) -> code."""
    encoder = branch.named_steps.get("encode")
    if not isinstance(encoder, OrdinalEncoder):
        raise NotCompilable("the categorical branch is not an OrdinalEncoder")
    values = [[*map(str, cats), MISSING_CATEGORY, UNSEEN_CATEGORY] for cats in encoder.categories_]
    longest = max(len(v) for v in values)
    padded = {name: v + [v[0]] * (longest - len(v)) for name, v in zip(names, values)}
    codes = branch.transform(pd.DataFrame(padded, dtype=object))
    codes = np.asarray(codes, dtype=np.float64)
    return [dict(zip(column_values, codes[: len(column_values), j].tolist())) for j, column_values in enumerate(values)]


GradientBoosting = HistGradientBoostingClassifier | HistGradientBoostingRegressor


def _model_codes(model: GradientBoosting, position: int, codes: dict[Any, float]) -> dict[Any, float]:
    """Compose the featurizer's code with the model's own categorical encoding, if any."""
    preprocessor = model._preprocessor
    if preprocessor is None or not model.is_categorical_[position]:
        return codes
    encoder = preprocessor.named_transformers_["encoder"]
    slot = int(np.flatnonzero(model.is_categorical_).tolist().index(position))
    width = int(model.is_categorical_.sum())
    keys = list(codes)
    matrix = np.zeros((len(keys), width), dtype=np.float64)
    for j, categories in enumerate(encoder.categories_):
        matrix[:, j] = categories[0]
    matrix[:, slot] = [codes[k] for k in keys]
    frame = pd.DataFrame(matrix, columns=getattr(encoder, "feature_names_in_", None))
    encoded = np.asarray(encoder.transform(frame), dtype=np.float64)[:, slot]
    return dict(zip(keys, encoded.tolist()))


@dataclass(frozen=True)
class FastPath:
    """Raw records (already validated and typed) -> the model's scores (see `scores`)."""

    numeric: _NumericBlock
    numeric_positions: list[int]
    categorical_names: list[str]
    categorical_codes: list[dict[Any, float]]
    categorical_positions: list[int]
    model_order: np.ndarray
    model: GradientBoosting
    bitsets: tuple[np.ndarray, np.ndarray]

    def scores(self, records: Sequence[Record]) -> np.ndarray:
        """What the pipeline gives for each record: the positive class's probability
        (binary), every class's probability in the model's class order (multiclass), or the
        predicted value (regression), through the model's own link function."""
        raw = self._raw(records)
        loss = self.model._loss
        if isinstance(self.model, HistGradientBoostingRegressor):
            return loss.link.inverse(raw.ravel())
        if raw.shape[1] == 1:
            return loss.predict_proba(raw.ravel())[:, 1]
        return loss.predict_proba(raw)

    def _raw(self, records: Sequence[Record]) -> np.ndarray:
        """The trees' summed raw scores, (n, trees per iteration), as the model sums them."""
        matrix = np.empty((len(records), len(self.model_order)), dtype=np.float64)
        matrix[:, self.numeric_positions] = self.numeric.transform(records)
        for position, name, codes in zip(self.categorical_positions, self.categorical_names, self.categorical_codes):
            unseen = codes[UNSEEN_CATEGORY]
            matrix[:, position] = [
                codes[MISSING_CATEGORY] if (v := r[name]) is None else codes.get(v, unseen) for r in records
            ]
        matrix = np.ascontiguousarray(matrix[:, self.model_order])
        model = self.model
        raw = np.zeros((len(records), model.n_trees_per_iteration_), dtype=model._baseline_prediction.dtype, order="F")
        raw += model._baseline_prediction
        known, index_map = self.bitsets
        for trees in model._predictors:
            for k, tree in enumerate(trees):
                raw[:, k] += tree.predict(matrix, known_cat_bitsets=known, f_idx_map=index_map, n_threads=1)
        return raw


def _compile(pipeline: Pipeline, input_names: list[str]) -> FastPath:
    features, model = pipeline.named_steps.get("features"), pipeline.named_steps.get("model")
    if not isinstance(features, Pipeline) or type(model) not in (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    ):
        raise NotCompilable("the pipeline is not features -> HistGradientBoosting")
    transformer = features.named_steps.get("columns")
    if not isinstance(transformer, ColumnTransformer):
        raise NotCompilable("the featurizer does not end in a ColumnTransformer")
    sources = _feature_columns(features, input_names)
    transformers = [(name, branch, list(cols)) for name, branch, cols in transformer.transformers_ if branch != "drop"]
    if {name for name, _, _ in transformers} - {"num", "cat"} or any(b == "passthrough" for _, b, _ in transformers):
        raise NotCompilable("the ColumnTransformer is not the num and cat branches")
    # A branch that selects no column is never fitted: a table of numbers only has an empty
    # cat branch (and one of categories only an empty num branch); it adds no column.
    blocks = {name: (branch, columns) for name, branch, columns in transformers if columns}
    if not blocks:
        raise NotCompilable("the ColumnTransformer selects no column")
    slices = transformer.output_indices_
    numeric_branch, numeric_names = blocks.get("num", (None, []))
    categorical_branch, categorical_names = blocks.get("cat", (None, []))
    numeric = _numeric_block(numeric_branch, [sources[n] for n in numeric_names])
    numeric_positions = list(range(slices["num"].start, slices["num"].stop)) if numeric_names else []
    categorical_positions = list(range(slices["cat"].start, slices["cat"].stop)) if categorical_names else []
    if len(categorical_positions) != len(categorical_names) or len(numeric_positions) != len(numeric_names):
        raise NotCompilable("a branch does not map one input column to one output column")
    category_codes = _category_codes(categorical_branch, categorical_names) if categorical_names else []
    codes = [
        _model_codes(model, position, column_codes)
        for position, column_codes in zip(categorical_positions, category_codes, strict=True)
    ]
    width = len(numeric_positions) + len(categorical_positions)
    if model._preprocessor is None:
        order = np.arange(width)
    else:  # the model's own ColumnTransformer puts its categorical columns first
        mask = model.is_categorical_
        order = np.concatenate([np.flatnonzero(mask), np.flatnonzero(~mask)])
    return FastPath(
        numeric=numeric,
        numeric_positions=numeric_positions,
        categorical_names=categorical_names,
        categorical_codes=codes,
        categorical_positions=categorical_positions,
        model_order=order,
        model=model,
        bitsets=model._bin_mapper.make_known_categories_bitsets(),
    )


def compile_fast_path(pipeline: Pipeline, input_names: list[str]) -> FastPath | None:
    """The compiled path, or None (logged) when the pipeline has another shape."""
    try:
        return _compile(pipeline, input_names)
    except NotCompilable as reason:
        logger.info("fast path not available (%s): serving through the packaged pipeline", reason)
        return None
