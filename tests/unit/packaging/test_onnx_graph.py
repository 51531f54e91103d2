"""The bundle's model.onnx gives the pipeline's scores, for every task, on rows with missing
values and unseen categories too: the ONNX graph reads the fitted model as scikit-learn does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from lifecycle.config import FeaturizeSettings
from lifecycle.featurization.featurizer import build_featurizer
from lifecycle.packaging.bundle import ONNX_FILE, load_bundle, verify_bundle
from lifecycle.packaging.onnx_check import onnx_inputs, onnx_scores, onnx_session, pipeline_scores
from lifecycle.packaging.onnx_graph import NUMERIC_INPUT, export_onnx
from lifecycle.serving.fast_path import compile_fast_path
from tests.support.serving import TaskBundle

pytestmark = pytest.mark.e2e

# What the graph's float64 arithmetic reaches: onnxruntime's sigmoid and softmax may round
# the last bit differently from NumPy's (measured: 2.2e-16 on the flights test split).
LAST_BITS = 1e-14


def _assert_agrees(bundle_path: Path, frame: pd.DataFrame) -> None:
    """The packaged model.onnx against the packaged pipeline, in one batch and row by row;
    its every constant read by a node (onnxruntime warns of any other when it loads one)."""
    bundle = load_bundle(bundle_path)
    rows = frame[bundle.input_columns]
    graph = onnx.load_model_from_string((bundle_path / ONNX_FILE).read_bytes()).graph
    assert {constant.name for constant in graph.initializer} <= {name for node in graph.node for name in node.input}
    session = onnx_session((bundle_path / ONNX_FILE).read_bytes())
    expected = pipeline_scores(bundle.pipeline, rows)
    actual = onnx_scores(session, onnx_inputs(bundle.pipeline, rows))
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=LAST_BITS, atol=LAST_BITS)
    for position in range(min(len(rows), 20)):
        one = onnx_scores(session, onnx_inputs(bundle.pipeline, rows.iloc[[position]]))
        np.testing.assert_allclose(one, expected[[position]], rtol=LAST_BITS, atol=LAST_BITS)


def test_the_packaged_onnx_file_is_in_the_manifest(bundle_dir: Path) -> None:
    assert ONNX_FILE in verify_bundle(bundle_dir)


def test_onnx_equals_the_pipeline_with_missing_values_and_unseen_categories(
    bundle_dir: Path, raw_test: pd.DataFrame
) -> None:
    """Every categorical split's set of codes, the unseen code and the missing marker, and
    the imputation of every nullable column, on the flights test rows."""
    bundle = load_bundle(bundle_dir)
    rows = raw_test.head(3000).copy()
    categorical = [c["name"] for c in bundle.schema["columns"] if c["kind"] == "categorical"]
    nullable = [c["name"] for c in bundle.schema["columns"] if c["nullable"]]
    rows.loc[rows.index[::3], categorical] = "never-seen"
    rows.loc[rows.index[1::3], categorical] = None
    rows.loc[rows.index[::2], nullable] = None
    _assert_agrees(bundle_dir, raw_test)
    _assert_agrees(bundle_dir, rows)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_onnx_equals_the_pipeline_for_every_task(request: pytest.FixtureRequest, task: str) -> None:
    """Softmax over three classes (wine) and the identity link (diabetes)."""
    bundle: TaskBundle = request.getfixturevalue(f"{task}_bundle")
    test = pd.read_parquet(bundle.path.parent.parent / "data/interim/test.parquet")
    assert ONNX_FILE in verify_bundle(bundle.path)
    _assert_agrees(bundle.path, test)


def test_a_pipeline_of_another_shape_has_no_onnx_export(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    dummy = Pipeline([("features", bundle.pipeline.named_steps["features"]), ("model", DummyClassifier())])
    assert export_onnx(dummy, bundle.input_columns) is None


def test_a_table_without_categories_is_exported_with_a_numeric_input_only() -> None:
    """An empty categorical branch is never fitted: the compiled path and the graph leave it
    out, and the graph, with no categorical input, gives the pipeline's scores."""
    frame = load_breast_cancer(as_frame=True).frame.head(300)
    inputs = [c for c in frame.columns if c != "target"]
    featurizer = build_featurizer(FeaturizeSettings(categorical_encoding="ordinal"))
    pipeline = Pipeline([("features", featurizer), ("model", HistGradientBoostingClassifier(max_iter=5))])
    pipeline.fit(frame[inputs], frame["target"])
    assert compile_fast_path(pipeline, inputs) is not None
    model = export_onnx(pipeline, inputs)
    assert model is not None and [i.name for i in model.graph.input] == [NUMERIC_INPUT]
    actual = onnx_scores(onnx_session(model), onnx_inputs(pipeline, frame[inputs]))
    np.testing.assert_allclose(actual, pipeline_scores(pipeline, frame[inputs]), rtol=LAST_BITS, atol=LAST_BITS)
