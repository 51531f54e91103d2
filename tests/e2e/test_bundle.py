"""The packaged model from a real pipeline run: one inference pipeline, trusted only by hash."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecycle.errors import LifecycleError
from lifecycle.packaging.bundle import load_bundle
from tests.support.pipeline import FirstRun

pytestmark = pytest.mark.e2e

OUTCOMES = ["dep_time", "dep_delay", "arr_time", "air_time", "arr_delay"]


@pytest.fixture()
def bundle_dir(pipeline_run: FirstRun, tmp_path: Path) -> Path:
    """A private copy of the packaged bundle, safe to tamper with."""
    copy = tmp_path / "package"
    shutil.copytree(pipeline_run.repo.path / "models/package", copy)
    return copy


def test_bundle_predictions_on_raw_test_rows_equal_evaluate_predictions(
    pipeline_run: FirstRun, bundle_dir: Path
) -> None:
    raw_test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet")
    evaluated = pd.read_parquet(pipeline_run.repo.path / "data/evaluation/predictions.parquet")
    scored = load_bundle(bundle_dir).predict(raw_test, unknown_category="accept")
    assert scored["error"].isna().all()
    np.testing.assert_array_equal(scored["probability"].to_numpy(), evaluated["probability"].to_numpy())
    np.testing.assert_array_equal(scored["prediction"].to_numpy(dtype=int), evaluated["prediction"].to_numpy())


def test_reject_policy_refuses_exactly_the_rows_with_unseen_categories(
    pipeline_run: FirstRun, bundle_dir: Path
) -> None:
    bundle = load_bundle(bundle_dir)
    raw_test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet")
    unseen = np.zeros(len(raw_test), dtype=bool)
    for column in bundle.schema["columns"]:
        if column["kind"] == "categorical":
            values = raw_test[column["name"]]
            unseen |= (values.notna() & ~values.isin(column["categories"])).to_numpy()
    scored = bundle.predict(raw_test, unknown_category="reject")
    np.testing.assert_array_equal(scored["error"].notna().to_numpy(), unseen)
    assert scored.loc[unseen, "error"].str.contains("unknown category").all()
    assert scored.loc[unseen, "prediction"].isna().all()


def test_outcome_columns_are_never_model_inputs(bundle_dir: Path, pipeline_run: FirstRun) -> None:
    bundle = load_bundle(bundle_dir)
    assert not set(OUTCOMES) & set(bundle.input_columns)
    assert "delayed" not in bundle.input_columns
    raw_test = pd.read_parquet(pipeline_run.repo.path / "data/interim/test.parquet").head(500)
    shuffled = raw_test.copy()
    for column in OUTCOMES:
        shuffled[column] = shuffled[column].sample(frac=1.0, random_state=1).to_numpy() * 3 + 7
    before = bundle.predict(raw_test, unknown_category="accept")["probability"]
    after = bundle.predict(shuffled, unknown_category="accept")["probability"]
    np.testing.assert_array_equal(before.to_numpy(), after.to_numpy())


def test_a_tampered_model_file_is_refused(bundle_dir: Path) -> None:
    pipeline = bundle_dir / "pipeline.joblib"
    data = bytearray(pipeline.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pipeline.write_bytes(bytes(data))
    with pytest.raises(LifecycleError, match="pipeline.joblib does not match its SHA-256"):
        load_bundle(bundle_dir)


def test_unlisted_and_missing_files_are_refused(bundle_dir: Path) -> None:
    (bundle_dir / "extra.pkl").write_bytes(b"not in the manifest")
    with pytest.raises(LifecycleError, match=r"not in its manifest: \['extra.pkl'\]"):
        load_bundle(bundle_dir)
    (bundle_dir / "extra.pkl").unlink()
    (bundle_dir / "schema.json").unlink()
    with pytest.raises(LifecycleError, match="missing schema.json"):
        load_bundle(bundle_dir)


def test_bundle_metadata_records_lineage_matching_dvc_lock(bundle_dir: Path, pipeline_run: FirstRun) -> None:
    metadata = json.loads((bundle_dir / "metadata.json").read_text())
    lock = (pipeline_run.repo.path / "dvc.lock").read_text()
    for path, md5 in {**metadata["lineage"]["data_md5"], **metadata["lineage"]["model_md5"]}.items():
        assert f"md5: {md5}" in lock, path
    assert len(metadata["lineage"]["pipeline_code_sha256"]) == 64
    assert metadata["libraries"]["scikit-learn"]
    card = (bundle_dir / "MODEL_CARD.md").read_text()
    assert "## Intended use" in card and "## Limitations" in card and "roc_auc" in card
    assert card.startswith("# Model card: delayed\n")
    assert "Outcome columns never used as features: `dep_time`, `dep_delay`," in card
    assert "The context columns `origin_departures_this_hour`, `dest_arrivals_this_hour`," in card
    assert "as calibrated as the calibration plot shows" in card


def test_predict_cli_scores_a_csv_and_flags_bad_rows(pipeline_run: FirstRun, tmp_path: Path) -> None:
    repo = pipeline_run.repo.path
    rows = pd.read_parquet(repo / "data/interim/test.parquet").head(50)
    rows = rows[[c for c in rows.columns if c not in OUTCOMES]]
    rows["distance"] = rows["distance"].astype(object)
    rows.loc[3, "distance"] = "far"
    rows.loc[7, "carrier"] = "ZZ"
    source, target = tmp_path / "rows.csv", tmp_path / "predictions.parquet"
    rows.to_csv(source, index=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lifecycle",
            "predict",
            "--input",
            str(source),
            "--output",
            str(target),
            "--bundle",
            str(repo / "models/package"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    scored = pd.read_parquet(target)
    assert len(scored) == 50
    assert "distance: expected a finite number, got 'far'" in scored.loc[3, "error"]
    assert "carrier: unknown category 'ZZ'" in scored.loc[7, "error"]
    good = scored.drop(index=[3, 7])
    assert good["error"].isna().sum() >= 45
    assert good.loc[good["error"].isna(), "probability"].between(0, 1).all()


def test_a_bundle_retrained_on_more_months_stands_in_for_the_served_one(bundle_dir: Path) -> None:
    """Hot reload and shadow accept a bundle whose categories and training ranges moved (a model
    retrained on more months), and refuse one whose columns, kinds or classes differ."""
    served = load_bundle(bundle_dir)
    columns = served.schema["columns"]
    carrier = next(i for i, c in enumerate(columns) if c["name"] == "carrier")
    month = next(i for i, c in enumerate(columns) if c["name"] == "month")
    moved = [dict(c) for c in columns]
    moved[carrier]["categories"] = moved[carrier]["categories"][:-1]
    moved[month]["max"] = 12.0
    retrained = replace(served, schema={**served.schema, "columns": moved})
    assert retrained.schema != served.schema and retrained.takes_inputs_of(served)

    other_kind = [dict(c) for c in columns]
    other_kind[month]["kind"] = "categorical"
    assert not replace(served, schema={**served.schema, "columns": other_kind}).takes_inputs_of(served)
    assert not replace(served, schema={**served.schema, "columns": columns[:-1]}).takes_inputs_of(served)
    other_classes = replace(served, metadata=served.metadata.model_copy(update={"classes": ["late", "on time"]}))
    assert not other_classes.takes_inputs_of(served)
