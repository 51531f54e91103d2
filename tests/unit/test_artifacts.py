"""The typed hand-offs between stages: what is written reads back the same, and a file of the
wrong shape is refused naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifecycle.artifacts import BundleMetadata, FeatureRoles, InterimRoles, TrainMetrics
from lifecycle.errors import LifecycleError
from tests.support.project import ROOT


def test_interim_roles_round_trip_byte_for_byte(roles: InterimRoles, tmp_path: Path) -> None:
    path = tmp_path / "roles.json"
    roles.write(path)
    again = InterimRoles.read(path)
    assert again == roles
    again.write(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    carrier = json.loads(path.read_text())["columns"]["carrier"]
    assert carrier["role"] == "categorical" and carrier["reason"].endswith("distinct values")


def test_a_wrong_file_names_the_file_and_the_key(roles: InterimRoles, tmp_path: Path) -> None:
    data = roles.as_json()
    data["task"] = "ranking"
    del data["split"]
    path = tmp_path / "roles.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        LifecycleError, match=rf"{path} is not a valid InterimRoles \(task: .*; split: Field required\)"
    ):
        InterimRoles.read(path)
    with pytest.raises(LifecycleError, match="input file not found"):
        FeatureRoles.read(tmp_path / "missing.json")


def test_train_metrics_write_no_threshold_for_a_task_without_one(tmp_path: Path) -> None:
    metrics = TrainMetrics(task="regression", cv={"validation_r2": {"mean": 0.4, "std": 0.01}}, fit={"rows": 10})
    metrics.write(tmp_path / "train.json")
    assert json.loads((tmp_path / "train.json").read_text()) == {
        "task": "regression",
        "chosen_by": "params",
        "cv": {"validation_r2": {"mean": 0.4, "std": 0.01}},
        "fit": {"rows": 10},
        "warnings": [],
    }
    assert TrainMetrics.read(tmp_path / "train.json").cv_mean("validation", "r2") == 0.4


def test_bundle_metadata_of_release_0_1_reads_with_its_types() -> None:
    metadata = BundleMetadata.read(ROOT / "tests/fixtures/bundle-0.1/package/metadata.json")
    assert (metadata.task, metadata.classes, metadata.unknown_category) == ("binary", [0, 1], "reject")
    assert isinstance(metadata.classes[0], int) and 0 < metadata.threshold < 1
    assert metadata.metrics.cross_validation["validation_roc_auc"].mean > 0.5


def test_labels_keep_their_json_types() -> None:
    """A boolean class stays a boolean, 1 stays an integer, "1" stays text."""
    for classes in ([False, True], [0, 1], ["0", "1"], [1.5, 2.5]):
        data = {
            "target": "y",
            "task": "binary",
            "classes": classes,
            "excluded": [],
            "dropped": [],
            "split": "random",
            "columns": {},
        }
        parsed = InterimRoles.parse(data, "test")
        assert [type(c) for c in parsed.classes] == [type(c) for c in classes]
