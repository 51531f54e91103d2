"""Validated rows -> the model's answer per row, for the bundle's task.

- binary: the label (`classes[1]` when the positive-class probability reaches the packaged
  threshold, else `classes[0]`, through `Bundle.decide`) and that probability;
- multiclass: the most probable class, its probability, and every class's probability;
- regression: the predicted value (no probability).

The compiled fast path (identical probabilities, tested) answers binary bundles whose
pipeline has a shape it compiles; everything else goes through `Bundle.predict`, the
same function the batch `predict` command uses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.packaging.bundle import Bundle
from lifecycle.preprocessing.labels import native
from lifecycle.serving.fast_path import FastPath, compile_fast_path

logger = logging.getLogger(__name__)

# A class label (classification) or a predicted value (regression), as JSON holds it.
Label = bool | int | float | str


@dataclass(frozen=True)
class Scores:
    """One entry per row, aligned with the request's rows.

    `labels` are class labels, or predicted values for regression. `probabilities` is the
    positive class's probability (binary) or the predicted class's (multiclass), None for
    regression; `class_probabilities` maps each class (as text) to its probability, for
    multiclass only.
    """

    task: str
    labels: list[Label]
    unknown_categories: list[list[str]]
    probabilities: list[float] | None = None
    class_probabilities: list[dict[str, float]] | None = None

    def probability(self, row: int) -> float | None:
        return None if self.probabilities is None else self.probabilities[row]

    def class_probability(self, row: int) -> dict[str, float] | None:
        return None if self.class_probabilities is None else self.class_probabilities[row]

    def answers(self) -> list[dict[str, Any]]:
        """The JSON answer of each row, with exactly the keys of the task's response model."""
        answers = []
        for row, label in enumerate(self.labels):
            answer: dict[str, Any] = {"label": label}
            if self.probabilities is not None:
                answer["probability"] = self.probabilities[row]
            if self.class_probabilities is not None:
                answer["probabilities"] = self.class_probabilities[row]
            answer["unknown_categories"] = self.unknown_categories[row]
            answers.append(answer)
        return answers


class Scorer:
    """Scores rows that already passed the request model (types, nulls, policy)."""

    def __init__(self, bundle: Bundle, fast_path: bool) -> None:
        self.bundle = bundle
        self.task = bundle.task
        self.classes = [native(c) for c in bundle.classes] if self.task != "regression" else None
        self.fast: FastPath | None = None
        if fast_path and self.task == "binary":
            self.fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
        elif fast_path:
            logger.info(
                "fast path not available (%s task; it compiles binary models only)", self.task
            )
        self.categories = {
            c["name"]: frozenset(c["categories"])
            for c in bundle.schema["columns"]
            if c["kind"] == "categorical"
        }

    def _predict(self, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(list(rows), columns=self.bundle.input_columns)
        # The request model already applied the unknown-category policy: accept what it let through.
        scored = self.bundle.predict(frame, unknown_category="accept")
        errors = scored["error"].dropna()
        if not errors.empty:  # the request model and the schema disagree: a bug, not a client error
            raise RuntimeError(f"validated rows failed the bundle's schema: {errors.iloc[0]}")
        return scored

    def _binary(self, rows: Sequence[dict[str, Any]], unknown: list[list[str]]) -> Scores:
        if self.fast is not None:
            probability = self.fast.predict_proba(rows)
        else:
            probability = self._predict(rows)["probability"].to_numpy()
        assert self.classes is not None
        labels = [self.classes[index] for index in self.bundle.decide(probability).tolist()]
        return Scores(self.task, labels, unknown, probabilities=probability.tolist())

    def _multiclass(self, rows: Sequence[dict[str, Any]], unknown: list[list[str]]) -> Scores:
        assert self.classes is not None
        scored = self._predict(rows)
        matrix = scored[[f"probability_{c}" for c in self.bundle.classes]].to_numpy(
            dtype=np.float64
        )
        names = [str(c) for c in self.classes]
        return Scores(
            self.task,
            [native(label) for label in scored["prediction"].tolist()],
            unknown,
            probabilities=scored["probability"].to_numpy(dtype=np.float64).tolist(),
            class_probabilities=[dict(zip(names, row)) for row in matrix.tolist()],
        )

    def _regression(self, rows: Sequence[dict[str, Any]], unknown: list[list[str]]) -> Scores:
        values = self._predict(rows)["prediction"].to_numpy(dtype=np.float64)
        return Scores(self.task, values.tolist(), unknown)

    def score(self, rows: Sequence[dict[str, Any]]) -> Scores:
        """Predict every row; flag categories never seen in training (the `accept` policy)."""
        unknown = [
            [
                name
                for name, known in self.categories.items()
                if (value := row[name]) is not None and value not in known
            ]
            for row in rows
        ]
        if self.task == "binary":
            return self._binary(rows, unknown)
        if self.task == "multiclass":
            return self._multiclass(rows, unknown)
        return self._regression(rows, unknown)
