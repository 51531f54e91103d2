"""Batch scoring streams in chunks and gives exactly what one call of the shared predict gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecycle.errors import LifecycleError
from lifecycle.packaging.batch import score_file
from lifecycle.packaging.bundle import load_bundle

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunked_scoring_equals_one_batch(
    bundle_dir: Path, raw_test: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    bundle = load_bundle(bundle_dir)
    rows = raw_test.head(1000).copy()
    rows.loc[rows.index[:5], "dest"] = "XYZ"  # a few schema errors, in the first chunk only
    source, target = tmp_path / f"rows{suffix}", tmp_path / f"scored{suffix}"
    rows.to_csv(source, index=False) if suffix == ".csv" else rows.to_parquet(source, index=False)
    assert score_file(bundle, source, target, chunk_rows=64) == 1000
    scored = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    expected = bundle.predict(rows)
    assert len(scored) == 1000 and scored.columns[-3:].tolist() == ["prediction", "probability", "error"]
    np.testing.assert_array_equal(scored["probability"].to_numpy(), expected["probability"].to_numpy())
    assert scored["error"].fillna("").tolist() == expected["error"].fillna("").tolist()
    assert scored["error"].head(5).str.contains("dest: unknown category 'XYZ'").all()


def test_a_failing_chunk_leaves_no_output(bundle_dir: Path, raw_test: pd.DataFrame, tmp_path: Path) -> None:
    source, target = tmp_path / "rows.csv", tmp_path / "scored.csv"
    raw_test.head(100).drop(columns="dest").to_csv(source, index=False)
    with pytest.raises(LifecycleError, match=r"missing column\(s\) \['dest'\]"):
        score_file(load_bundle(bundle_dir), source, target, chunk_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]
