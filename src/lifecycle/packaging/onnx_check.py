"""Running the bundle's ONNX model, and the packaging check that it agrees with the pipeline.

The ONNX graph starts at the `ColumnTransformer` (see `onnx_graph`): the project's own
steps before it (difference features, datetime parts in a time zone) run here, in pandas,
exactly as the pipeline runs them. An app running `model.onnx` elsewhere computes those
few columns itself.

The check runs both on the test split and refuses the bundle when any score differs by
more than `package.onnx_tolerance` (times the score, for scores beyond 1), naming the worst
row. Exact equality is not promised:
the graph computes in float64 in scikit-learn's order, but onnxruntime's sigmoid, softmax
and exp may round differently from NumPy's in the last bits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pandas as pd
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from lifecycle.errors import LifecycleError
from lifecycle.featurization.transformers import as_object
from lifecycle.packaging.bundle import ONNX_FILE
from lifecycle.packaging.onnx_graph import CATEGORICAL_INPUT, NUMERIC_INPUT, OUTPUT, export_onnx, graph_columns
from lifecycle.tasks.binary import decide

logger = logging.getLogger(__name__)


def onnx_session(model: onnx.ModelProto | bytes) -> onnxruntime.InferenceSession:
    """One thread: the trees are then summed one after another, in scikit-learn's order."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def onnx_inputs(pipeline: Pipeline, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The graph's inputs for raw rows: the pipeline's own difference and datetime steps,
    then numbers as float64 (NaN when missing) and categories as text (each only where the
    table has such columns)."""
    features = pipeline.named_steps["features"]
    columns = features.named_steps["datetime"].transform(features.named_steps["differences"].transform(frame))
    numeric_names, categorical_names = graph_columns(pipeline)
    inputs = {}
    if numeric_names:
        inputs[NUMERIC_INPUT] = columns[numeric_names].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if categorical_names:
        inputs[CATEGORICAL_INPUT] = as_object(columns[categorical_names]).map(str).to_numpy(dtype=object)
    return inputs


def onnx_scores(session: onnxruntime.InferenceSession, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The positive class's probability (binary), the class probabilities (multiclass, in the
    model's class order) or the predicted value (regression)."""
    return session.run([OUTPUT], inputs)[0]


def pipeline_scores(pipeline: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """The same quantities from the pipeline itself."""
    if not is_classifier(pipeline):
        return pipeline.predict(frame)
    probability = pipeline.predict_proba(frame)
    return probability[:, 1] if probability.shape[1] == 2 else probability


@dataclass(frozen=True)
class OnnxAgreement:
    """How far the ONNX model's scores are from the pipeline's on the same rows."""

    max_difference: float  # absolute, or relative to scores beyond 1
    worst_row: object  # the row's index label
    onnx_score: float
    pipeline_score: float
    decisions_differing: float | None  # share of rows decided differently; None for regression


def _decisions(scores: np.ndarray, threshold: float | None) -> np.ndarray | None:
    if scores.ndim == 2:
        return scores.argmax(axis=1)
    return None if threshold is None else decide(scores, threshold)


def agreement(expected: np.ndarray, actual: np.ndarray, index: pd.Index, threshold: float | None) -> OnnxAgreement:
    """The largest difference (over rows and classes; absolute, relative beyond 1 so that a
    large regression value is held to its own precision), its row, and the share of rows
    whose decision (the threshold, or the most probable class) differs."""
    difference = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    worst = np.unravel_index(int(np.argmax(difference)), difference.shape)
    ours, theirs = _decisions(actual, threshold), _decisions(expected, threshold)
    return OnnxAgreement(
        max_difference=float(difference[worst]),
        worst_row=index[worst[0]],
        onnx_score=float(actual[worst]),
        pipeline_score=float(expected[worst]),
        decisions_differing=None if ours is None else float(np.mean(ours != theirs)),
    )


def check_onnx(
    model: onnx.ModelProto | bytes, pipeline: Pipeline, frame: pd.DataFrame, threshold: float | None, tolerance: float
) -> OnnxAgreement:
    """Score `frame` with both; refuse (LifecycleError) a difference beyond `tolerance`."""
    if frame.empty:
        raise LifecycleError("package: the test split is empty, so model.onnx cannot be checked")
    expected = pipeline_scores(pipeline, frame)
    actual = onnx_scores(onnx_session(model), onnx_inputs(pipeline, frame))
    result = agreement(expected, actual, frame.index, threshold)
    if not result.max_difference <= tolerance:  # NaN fails too
        raise LifecycleError(
            f"package: model.onnx disagrees with the pipeline on test row {result.worst_row!r}: "
            f"{result.onnx_score!r} against {result.pipeline_score!r}, a difference of "
            f"{result.max_difference:.3g} beyond package.onnx_tolerance {tolerance:g}"
        )
    logger.info(
        "model.onnx agrees with the pipeline on %d test rows: largest difference %.3g (row %r), "
        "decisions differing on a share of %s",
        len(frame),
        result.max_difference,
        result.worst_row,
        result.decisions_differing,
    )
    return result


def checked_onnx_file(
    pipeline: Pipeline, input_columns: list[str], test: pd.DataFrame, threshold: float | None, tolerance: float
) -> dict[str, Callable[[Path], None]]:
    """The bundle's `model.onnx` (file name -> its writer) once it agrees with the pipeline on
    the test split, or nothing (logged) for a pipeline that is not of the exported shape."""
    model = export_onnx(pipeline, input_columns)
    if model is None:
        logger.warning("package.onnx: this pipeline has no ONNX export (see lifecycle.packaging.onnx_graph)")
        return {}
    data = model.SerializeToString()
    check_onnx(data, pipeline, test[input_columns], threshold, tolerance)
    return {ONNX_FILE: lambda path: path.write_bytes(data)}
