"""The reference profile the package stage puts in the bundle: seeded, complete, hash-checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lifecycle.config import load_params
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.reference import (
    PROFILE_FILE,
    SAMPLE_FILE,
    SCORE_COLUMN,
    build_reference,
    monitored_kind,
    read_reference,
)
from lifecycle.packaging.bundle import MANIFEST_FILE, load_bundle
from lifecycle.storage import file_digest
from tests.support.pipeline import FirstRun

pytestmark = pytest.mark.e2e


def test_the_bundle_carries_the_profile_the_package_stage_built(pipeline_run: FirstRun, bundle_dir: Path) -> None:
    repo = pipeline_run.repo.path
    train = pd.read_parquet(repo / "data/interim/train.parquet")
    bundle = load_bundle(bundle_dir)
    settings = load_params(repo / "params.yaml").package
    stored = read_reference(bundle_dir)
    test_slices = json.loads((repo / "metrics/slices.json").read_text())
    rebuilt = build_reference(train, bundle, settings, test_slices)  # seeded: the same rows and scores
    assert stored.profile == rebuilt.profile
    pd.testing.assert_frame_equal(stored.sample, rebuilt.sample)
    monitored = sorted(c["name"] for c in bundle.schema["columns"] if monitored_kind(c["kind"]))
    assert list(stored.profile.columns) == monitored and list(stored.sample.columns) == [*monitored, SCORE_COLUMN]
    assert stored.profile.rows == len(train) and len(stored.sample) == min(settings.reference_rows, len(train))
    scores = stored.sample[SCORE_COLUMN]
    assert scores.between(0, 1).all() and scores.nunique() > 10
    carrier = stored.profile.columns["carrier"]
    assert carrier.kind == "categorical" and sum(carrier.counts.values()) == train["carrier"].notna().sum()
    temp = stored.profile.columns["temp"]
    assert temp.kind == "numeric" and temp.quantiles[0] == train["temp"].min() and len(temp.quantiles) == 11
    assert temp.missing_share == pytest.approx(train["temp"].isna().mean(), abs=1e-6)
    assert stored.profile.test_slices["by_column"]["carrier"]  # each slice's test metrics
    manifest = json.loads((bundle_dir / MANIFEST_FILE).read_text())["files"]
    assert {PROFILE_FILE, SAMPLE_FILE} <= set(manifest)


def test_an_altered_profile_is_refused_by_hash(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "package"
    shutil.copytree(bundle_dir, copy)
    profile = json.loads((copy / PROFILE_FILE).read_text())
    profile["columns"]["temp"]["mean"] = -40.0
    (copy / PROFILE_FILE).write_text(json.dumps(profile))
    with pytest.raises(LifecycleError, match="reference.json does not match its SHA-256"):
        read_reference(copy)


def test_a_bundle_from_before_monitoring_has_no_profile_and_says_so(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "package"
    shutil.copytree(bundle_dir, copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    for name in (PROFILE_FILE, SAMPLE_FILE):
        (copy / name).unlink()
        del manifest["files"][name]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(LifecycleError, match="has no reference profile .* packaged before monitoring"):
        read_reference(copy)


def test_a_sample_unlike_its_profile_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    """A file rewritten and re-hashed by hand (the manifest agrees) still has to fit the profile."""
    copy = tmp_path / "package"
    shutil.copytree(bundle_dir, copy)
    sample = pd.read_parquet(copy / SAMPLE_FILE)
    sample.rename(columns={"temp": "temp_celsius"}).to_parquet(copy / SAMPLE_FILE)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["files"][SAMPLE_FILE] = file_digest(copy / SAMPLE_FILE)
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(LifecycleError, match="reference sample of bundle .* does not match its profile"):
        read_reference(copy)
