"""Validated rows -> label, probability and unseen categories, through the bundle's decision rule.

The compiled fast path (identical probabilities, tested) answers when the pipeline has a
shape it compiles; otherwise the rows go through `Bundle.predict`, the same function the
batch `predict` command uses. Either way the label comes from `Bundle.decide`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.bundle import Bundle
from lifecycle.serving.fast_path import FastPath, compile_fast_path


@dataclass(frozen=True)
class Scores:
    """One entry per row, aligned with the request's rows."""

    labels: list[int]
    probabilities: list[float]
    unknown_categories: list[list[str]]


class Scorer:
    """Scores rows that already passed the request model (types, nulls, policy)."""

    def __init__(self, bundle: Bundle, fast_path: bool) -> None:
        self.bundle = bundle
        self.fast: FastPath | None = compile_fast_path(bundle.pipeline, bundle.input_columns) if fast_path else None
        self.categories = {
            c["name"]: frozenset(c["categories"]) for c in bundle.schema["columns"] if c["kind"] == "categorical"
        }

    def _probabilities(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        if self.fast is not None:
            return self.fast.predict_proba(rows)
        frame = pd.DataFrame.from_records(list(rows), columns=self.bundle.input_columns)
        # The request model already applied the unknown-category policy: accept what it let through.
        scored = self.bundle.predict(frame, unknown_category="accept")
        errors = scored["error"].dropna()
        if not errors.empty:  # the request model and the schema disagree: a bug, not a client error
            raise RuntimeError(f"validated rows failed the bundle's schema: {errors.iloc[0]}")
        return scored["probability"].to_numpy()

    def score(self, rows: Sequence[dict[str, Any]]) -> Scores:
        """Predict every row; flag categories never seen in training (the `accept` policy)."""
        probabilities = self._probabilities(rows)
        unknown = [
            [name for name, known in self.categories.items() if (value := row[name]) is not None and value not in known]
            for row in rows
        ]
        return Scores(self.bundle.decide(probabilities).tolist(), probabilities.tolist(), unknown)
