"""The service's compiled path with the bundle's model.onnx as its engine (`serve.engine: onnx`).

Why: the fast path calls scikit-learn's predictor once per tree, so a request pays a
Python-level call for each of the model's hundreds of trees; onnxruntime walks every tree in
one native call. `python bench/onnx_engine.py` measures it (README, "Portable model: ONNX").

What stays the fast path's: the columns computed from a request's records (numbers, difference
features, datetime parts in the time zone, categories), and the model's own link function.
The graph's `raw` output, the trees' sums, equals scikit-learn's bit for bit (the baseline
is its first tree, the sum runs in scikit-learn's order on one thread), so the answers are
the pipeline's, bit for bit, as the fast path's are (tested for every task on the test split).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import onnxruntime

from lifecycle.featurization.transformers import MISSING_CATEGORY
from lifecycle.packaging.onnx_check import onnx_session
from lifecycle.packaging.onnx_graph import CATEGORICAL_INPUT, NUMERIC_INPUT, RAW_OUTPUT
from lifecycle.serving.fast_path import FastPath, Record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnnxPath(FastPath):
    """The fast path whose trees' sums come from onnxruntime."""

    session: onnxruntime.InferenceSession

    def inputs(self, records: Sequence[Record]) -> dict[str, np.ndarray]:
        """The graph's inputs: the numeric columns before imputation, the categories as text
        (each only where the table has such columns: the graph has no input for none)."""
        inputs = {}
        if self.numeric.columns:
            inputs[NUMERIC_INPUT] = np.column_stack([column(records) for column in self.numeric.columns])
        if names := self.categorical_names:
            categorical = [[MISSING_CATEGORY if (v := r[n]) is None else str(v) for n in names] for r in records]
            inputs[CATEGORICAL_INPUT] = np.array(categorical, dtype=object)
        return inputs

    def _raw(self, records: Sequence[Record]) -> np.ndarray:
        return np.asfortranarray(self.session.run([RAW_OUTPUT], self.inputs(records))[0])


def onnx_path(fast: FastPath, model: bytes | None) -> FastPath:
    """The compiled path on onnxruntime, or `fast` itself (logged) when the bundle has no
    model.onnx (packaged with `package.onnx: false`, or before it existed)."""
    if model is None:
        logger.info("serve.engine onnx: the bundle has no model.onnx; the fast path's tree predictors serve")
        return fast
    return OnnxPath(**{f.name: getattr(fast, f.name) for f in fields(fast)}, session=onnx_session(model))
