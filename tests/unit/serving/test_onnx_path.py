"""`serve.engine: onnx` gives exactly the packaged pipeline's scores: the trees' sums from the
bundle's model.onnx equal scikit-learn's bit for bit, and the model's own link does the rest."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.fast_path import FastPath, compile_fast_path
from lifecycle.serving.onnx_path import OnnxPath, onnx_path
from lifecycle.serving.request_model import RowValidator
from lifecycle.serving.scoring import Scorer
from tests.support.serving import TaskBundle, json_rows

pytestmark = pytest.mark.e2e


def _assert_pipeline_scores(bundle_path: Path, rows_json: list[dict]) -> None:
    """Bit-for-bit equal to the pipeline, in one batch and one row at a time."""
    bundle = load_bundle(bundle_path)
    engine = Scorer(bundle, fast_path=True, engine="onnx").fast
    assert isinstance(engine, OnnxPath)
    rows = RowValidator(bundle.schema, "accept", len(rows_json)).from_python(rows_json)
    frame = pd.DataFrame.from_records(rows, columns=bundle.input_columns)
    expected = bundle.task.model_scores(bundle.pipeline, frame, bundle.classes)
    np.testing.assert_array_equal(engine.scores(rows), expected)
    one_by_one = np.concatenate([engine.scores([row]) for row in rows[:300]])
    np.testing.assert_array_equal(one_by_one, expected[: len(one_by_one)])


def test_onnx_engine_equals_the_pipeline_on_the_whole_test_split(bundle_dir: Path, raw_test: pd.DataFrame) -> None:
    """Unseen categories and missing values included."""
    schema = load_bundle(bundle_dir).schema
    categorical = [c["name"] for c in schema["columns"] if c["kind"] == "categorical"]
    nullable = [c["name"] for c in schema["columns"] if c["nullable"]]
    odd = raw_test.head(2000).copy()
    odd.loc[odd.index[::3], categorical] = "never-seen"
    odd.loc[odd.index[::2], nullable] = None
    _assert_pipeline_scores(bundle_dir, json_rows(raw_test))
    _assert_pipeline_scores(bundle_dir, json_rows(odd))


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_onnx_engine_equals_the_pipeline_for_every_task(request: pytest.FixtureRequest, task: str) -> None:
    bundle: TaskBundle = request.getfixturevalue(f"{task}_bundle")
    _assert_pipeline_scores(bundle.path, bundle.rows)


def test_a_bundle_without_model_onnx_is_served_by_the_tree_predictors(bundle_dir: Path) -> None:
    bundle = dataclasses.replace(load_bundle(bundle_dir), onnx=None)
    fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
    assert fast is not None and onnx_path(fast, bundle.onnx) is fast
    engine = Scorer(bundle, fast_path=True, engine="onnx").fast
    assert isinstance(engine, FastPath) and not isinstance(engine, OnnxPath)


def test_a_table_of_one_kind_of_input_is_compiled_and_exported(one_kind_bundle: Path) -> None:
    """Numbers only, or categories only: the branch that selects no column is left out, and
    both engines (scikit-learn's predictors, and the model.onnx packaged with one input)
    give the pipeline's scores bit for bit on the test split."""
    bundle = load_bundle(one_kind_bundle / "models/package")
    kinds = {c["kind"] for c in bundle.schema["columns"]}
    assert len(kinds) == 1 and bundle.onnx is not None
    test = pd.read_parquet(one_kind_bundle / "data/interim/test.parquet")[bundle.input_columns]
    rows = RowValidator(bundle.schema, "accept", len(test)).from_python(json_rows(test))
    frame = pd.DataFrame.from_records(rows, columns=bundle.input_columns)
    expected = bundle.task.model_scores(bundle.pipeline, frame, bundle.classes)
    fast = Scorer(bundle, fast_path=True, engine="fast_path").fast
    assert fast is not None and not isinstance(fast, OnnxPath)
    np.testing.assert_array_equal(fast.scores(rows), expected)
    _assert_pipeline_scores(one_kind_bundle / "models/package", json_rows(test))
