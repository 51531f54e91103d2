"""A bundle packaged by the previous release still loads and predicts the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.support.project import ROOT

FIXTURE = ROOT / "tests/fixtures/bundle-0.1"


def test_a_bundle_of_release_0_1_predicts_what_it_predicted_then(tmp_path: Path) -> None:
    """In a fresh interpreter (nothing of the package imported yet), as a server starts."""
    output = tmp_path / "predictions.parquet"
    script = (
        "import sys, pandas as pd; from pathlib import Path; "
        "from lifecycle.packaging.bundle import load_bundle; "
        "bundle = load_bundle(Path(sys.argv[1]) / 'package'); "
        "bundle.predict(pd.read_parquet(Path(sys.argv[1]) / 'rows.parquet')).to_parquet(sys.argv[2])"
    )
    done = subprocess.run([sys.executable, "-c", script, str(FIXTURE), str(output)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = pd.read_parquet(FIXTURE / "predictions.parquet")
    assert len(expected) == 200 and expected["error"].isna().all()
    pd.testing.assert_frame_equal(pd.read_parquet(output), expected)


def test_the_bundle_names_the_code_by_the_paths_of_release_0_1() -> None:
    """What makes the test above meaningful: the pickle refers to modules that no longer exist."""
    pickled = (FIXTURE / "package/pipeline.joblib").read_bytes()
    assert b"lifecycle.features" in pickled and b"lifecycle.calibration" in pickled
    assert not (ROOT / "src/lifecycle/features.py").exists()
    assert not (ROOT / "src/lifecycle/calibration.py").exists()
