"""Packaging refuses an ONNX model that disagrees with its pipeline, naming the worst row
and the difference; one that agrees within the tolerance is written into the bundle."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import numpy_helper

from lifecycle.errors import LifecycleError
from lifecycle.packaging.bundle import ONNX_FILE, load_bundle
from lifecycle.packaging.onnx_check import (
    check_onnx,
    checked_onnx_file,
    onnx_inputs,
    onnx_scores,
    onnx_session,
    pipeline_scores,
)
from lifecycle.packaging.onnx_graph import export_onnx
from tests.support.serving import TaskBundle

pytestmark = pytest.mark.e2e


def _with_leaf_shifted(model: onnx.ModelProto, leaf: int, shift: float) -> bytes:
    """The model with one leaf of its trees moved by `shift`: an ONNX file that disagrees."""
    altered = onnx.ModelProto()
    altered.CopyFrom(model)
    trees = next(node for node in altered.graph.node if node.op_type == "TreeEnsemble")
    weights = next(a for a in trees.attribute if a.name == "leaf_weights")
    values = numpy_helper.to_array(weights.t).copy()
    values[leaf] += shift
    weights.t.CopyFrom(numpy_helper.from_array(values))
    return altered.SerializeToString()


@pytest.fixture
def wine(multiclass_bundle: TaskBundle) -> tuple[object, pd.DataFrame, onnx.ModelProto]:
    bundle = load_bundle(multiclass_bundle.path)
    test = pd.read_parquet(multiclass_bundle.path.parent.parent / "data/interim/test.parquet")
    model = export_onnx(bundle.pipeline, bundle.input_columns)
    assert model is not None
    return bundle.pipeline, test[bundle.input_columns], model


def test_an_onnx_file_that_disagrees_is_refused_naming_the_worst_row(wine: tuple) -> None:
    pipeline, test, model = wine
    # the first leaf after the three baseline leaves: a real tree's
    altered = _with_leaf_shifted(model, leaf=3, shift=0.5)
    scores = onnx_scores(onnx_session(altered), onnx_inputs(pipeline, test))
    difference = np.abs(scores - pipeline_scores(pipeline, test))
    worst_row = test.index[np.unravel_index(int(np.argmax(difference)), difference.shape)[0]]
    assert difference.max() > 1e-3
    message = f"model.onnx disagrees with the pipeline on test row {worst_row!r}: "
    with pytest.raises(LifecycleError, match=re.escape(message)) as refused:
        check_onnx(altered, pipeline, test, threshold=None, tolerance=1e-9)
    assert f"a difference of {difference.max():.3g} beyond package.onnx_tolerance 1e-09" in str(refused.value)


def test_an_onnx_file_that_agrees_passes_and_is_written(wine: tuple) -> None:
    pipeline, test, model = wine
    result = check_onnx(model, pipeline, test, threshold=None, tolerance=1e-9)
    assert result.max_difference <= 1e-14
    assert result.decisions_differing == 0.0
    files = checked_onnx_file(pipeline, list(test.columns), test, None, 1e-9)
    assert list(files) == [ONNX_FILE]


def test_the_tolerance_decides(wine: tuple) -> None:
    """A disagreement smaller than the tolerance passes; the same beyond it does not."""
    pipeline, test, model = wine
    altered = _with_leaf_shifted(model, leaf=3, shift=1e-6)
    result = check_onnx(altered, pipeline, test, threshold=None, tolerance=1e-3)
    assert 0 < result.max_difference < 1e-3
    with pytest.raises(LifecycleError, match="beyond package.onnx_tolerance"):
        check_onnx(altered, pipeline, test, threshold=None, tolerance=result.max_difference / 2)
