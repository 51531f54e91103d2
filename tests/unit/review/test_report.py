"""The review's sides read slices.json as evaluate writes it, and as earlier revisions did."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle import paths
from lifecycle.review.report import Side
from lifecycle.storage import write_json

WORST = [
    {"slice": "carrier=EV", "roc_auc": 0.61, "rows": 1500},
    {"slice": "origin=EWR", "roc_auc": 0.68, "rows": 9000},
]


@pytest.mark.parametrize(
    "worst",
    [WORST, {"1": WORST[0], "2": WORST[1]}],
    ids=["listed in rank order", "keyed by rank (earlier revisions)"],
)
def test_worst_slices_are_keyed_by_rank(worst: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_json({"ranked_by": "roc_auc", "by_column": {}, "worst": worst}, paths.SLICE_METRICS)
    assert Side(None).worst_slices == {"1": WORST[0], "2": WORST[1]}
