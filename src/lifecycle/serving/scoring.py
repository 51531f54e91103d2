"""Validated rows -> the model's answer per row, for the bundle's task.

- binary: the label (`classes[1]` when the positive-class probability reaches the packaged
  threshold, else `classes[0]`, through `Bundle.decide`) and that probability;
- multiclass: the most probable class, its probability, and every class's probability;
- regression: the predicted value (no probability).

The compiled fast path (identical scores, tested for every task; its trees summed by
onnxruntime from the bundle's model.onnx under `serve.engine: onnx`) answers bundles whose
pipeline has a shape it compiles, through the task's own `answers` (binary without pandas:
the path a single-row request takes most); everything else goes through `Bundle.predict`,
the same function the batch `predict` command uses, whose columns make the answer.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.artifacts import Label
from lifecycle.config import Engine
from lifecycle.packaging.bundle import Bundle
from lifecycle.packaging.schema import NumericRule
from lifecycle.serving.fast_path import FastPath, compile_fast_path
from lifecycle.serving.onnx_path import onnx_path
from lifecycle.serving.prediction_log import LoggedRequest, now
from lifecycle.tasks.classification import native

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flags:
    """What each row of a batch holds that training never saw, a list of names per row (the
    rows are scored all the same). Columns, not an object per row: a 100-row request built
    and read 100 of them, which cost more than finding the flags."""

    unknown_categories: list[list[str]]  # categories never seen (the `accept` policy lets them through)
    beyond_training_range: list[list[str]]  # numbers inside the domain but beyond the training range


@dataclass(frozen=True)
class Scores:
    """One entry per row, aligned with the request's rows.

    `labels` are class labels, or predicted values for regression. `flags` names, per row,
    the fields whose value training never saw. `probabilities` is the positive class's
    probability (binary) or the predicted class's (multiclass), None for regression;
    `class_probabilities` maps each class (as text) to its probability, for multiclass only.
    """

    labels: list[Label | float]  # class labels, or predicted values for regression
    flags: Flags
    probabilities: list[float] | None = None
    class_probabilities: list[dict[str, float]] | None = None

    def __post_init__(self) -> None:
        """Refuse a non-finite number from the model: the answer's JSON would carry it as null."""
        numbers = itertools.chain(
            self.probabilities or (),
            (value for value in self.labels if isinstance(value, float)),
            *(row.values() for row in self.class_probabilities or ()),
        )
        if not np.isfinite(np.fromiter(numbers, dtype=np.float64)).all():
            raise ValueError("the model answered a non-finite value")

    @classmethod
    def from_predictions(cls, scored: pd.DataFrame, flags: Flags, classes: Sequence[Any]) -> Scores:
        """From `Bundle.predict`'s columns, whatever the task: `prediction`, and `probability`
        and `probability_<class>` where the task answers them."""
        class_columns = [f"probability_{c}" for c in classes]
        class_probabilities = None
        if classes and all(column in scored for column in class_columns):
            names = [str(c) for c in classes]
            matrix = scored[class_columns].to_numpy(dtype=np.float64)
            class_probabilities = [dict(zip(names, row)) for row in matrix.tolist()]
        probabilities = scored["probability"].to_numpy(dtype=np.float64).tolist() if "probability" in scored else None
        return cls(
            [native(label) for label in scored["prediction"].tolist()], flags, probabilities, class_probabilities
        )

    def logged(
        self, rows: Sequence[dict[str, Any]], request_id: str, endpoint: str, model_version: str, latency_ms: float
    ) -> LoggedRequest:
        """The prediction log's record of these rows and their answers, stamped now."""
        return LoggedRequest(
            request_id=request_id,
            logged_at=now(),
            model_version=model_version,
            endpoint=endpoint,
            latency_ms=latency_ms,
            inputs=rows,
            predictions=self.labels,
            unknown_categories=self.flags.unknown_categories,
            probabilities=self.probabilities,
            class_probabilities=self.class_probabilities,
        )

    def answers(self) -> list[dict[str, Any]]:
        """The JSON answer of each row, with exactly the keys of the task's answer model."""
        columns: dict[str, Sequence[Any]] = {"label": self.labels}
        if self.probabilities is not None:
            columns["probability"] = self.probabilities
        if self.class_probabilities is not None:
            columns["probabilities"] = self.class_probabilities
        columns["unknown_categories"] = self.flags.unknown_categories
        columns["beyond_training_range"] = self.flags.beyond_training_range
        keys = tuple(columns)
        return [dict(zip(keys, values)) for values in zip(*columns.values(), strict=True)]


def _bounds(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


class Scorer:
    """Scores rows that already passed the request model (types, nulls, policy)."""

    def __init__(self, bundle: Bundle, fast_path: bool, engine: Engine = "fast_path") -> None:
        self.bundle = bundle
        self.task = bundle.task
        self.classes = [native(c) for c in bundle.classes] if self.task.classification else None
        # Only a pipeline of a shape it knows compiles; anything else is served by Bundle.predict.
        self.fast: FastPath | None = compile_fast_path(bundle.pipeline, bundle.input_columns) if fast_path else None
        if self.fast is not None and engine == "onnx":
            self.fast = onnx_path(self.fast, bundle.onnx)
        if self.fast is not None and self.task.classification:
            if [str(c) for c in self.fast.model.classes_] != [str(c) for c in bundle.classes]:
                logger.info("fast path not available (the model's class order is not the bundle's)")
                self.fast = None
        # what a value may be without a flag: a training category, or missing
        self.categories = {
            c["name"]: frozenset([*c["categories"], None])
            for c in bundle.schema["columns"]
            if c["kind"] == "categorical"
        }
        numeric = [NumericRule.of(c) for c in bundle.schema["columns"] if c["kind"] == "numeric"]
        self.numeric_names = [rule.name for rule in numeric]
        self.numeric_values = operator.itemgetter(*self.numeric_names) if numeric else None
        # the training range, NaN where there is none (a comparison with NaN is never true)
        self.seen_low = _bounds([rule.seen_low for rule in numeric])
        self.seen_high = _bounds([rule.seen_high for rule in numeric])

    def _predict(self, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(list(rows), columns=self.bundle.input_columns)
        # The request model already applied the unknown-category policy: accept what it let through.
        scored = self.bundle.predict(frame, unknown_category="accept")
        errors = scored["error"].dropna()
        if not errors.empty:  # the request model and the schema disagree: a bug, not a client error
            raise RuntimeError(f"validated rows failed the bundle's schema: {errors.iloc[0]}")
        return scored

    def flags(self, rows: Sequence[dict[str, Any]]) -> Flags:
        """Per row, its categories never seen in training (the `accept` policy) and its numbers
        beyond the training range (inside the domain: the request model refused the rest),
        each in schema order. Checked column by column: a batch's rows mostly have neither,
        and a row at a time cost more than scoring it."""
        unknown: list[list[str]] = [[] for _ in rows]
        for name, allowed in self.categories.items():
            values = [row[name] for row in rows]
            if not allowed.issuperset(values):
                for index, value in enumerate(values):
                    if value not in allowed:
                        unknown[index].append(name)
        beyond: list[list[str]] = [[] for _ in rows]
        if self.numeric_values is not None:
            values = np.array(list(map(self.numeric_values, rows)), dtype=np.float64).reshape(len(rows), -1)
            outside = (values < self.seen_low) | (values > self.seen_high)  # None is NaN: never outside
            for index, column in zip(*np.nonzero(outside), strict=True):
                beyond[index].append(self.numeric_names[column])
        return Flags(unknown, beyond)

    def score(self, rows: Sequence[dict[str, Any]]) -> Scores:
        """Predict every row, flagging what training never saw."""
        flags = self.flags(rows)
        if self.fast is None:
            return Scores.from_predictions(self._predict(rows), flags, self.bundle.classes)
        scores = self.fast.scores(rows)
        if self.task.decision_threshold:  # binary: the labels straight from the probabilities
            assert self.classes is not None
            labels = [self.classes[index] for index in self.bundle.decide(scores).tolist()]
            return Scores(labels, flags, probabilities=scores.tolist())
        every_row = np.ones(len(rows), dtype=bool)
        answers = self.task.answers(scores, every_row, self.bundle.classes, self.bundle.metadata.threshold)
        return Scores.from_predictions(answers, flags, self.bundle.classes)
