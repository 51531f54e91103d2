"""Shared pieces of the own-data end-to-end tests: scikit-learn's bundled datasets as a user's
tables, a minimal params.yaml written from scratch, and a real paged JSON API on 127.0.0.1.

Imported by test_own_data_e2e and test_bad_data_e2e (it holds no tests itself).
"""

from __future__ import annotations

import json
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import yaml
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from tests.support.http import CountingServer, QuietHandler, running
from tests.support.pipeline import PipelineRepo, make_pipeline_repo

STAGES = ["collect", "preprocess", "featurize", "search", "train", "evaluate", "package"]

# dvc.yaml declares these sections as the stages' params, so DVC needs each key present;
# `{}` leaves every setting in them at its documented default.
DEFAULT_SECTIONS = ("collect", "engine", "validation", "featurize", "search", "package")

# Small and fast: a few hundred rows, a short boosting run, three folds.
FAST_TRAIN: dict[str, Any] = {
    "model": "hist_gradient_boosting",
    "seed": 1,
    "cv_folds": 3,
    "hist_gradient_boosting": {"max_iter": 50, "min_samples_leaf": 5},
    "learning_curve": {"rows": 100, "fractions": [0.5, 1.0]},
}
FAST_EVALUATE: dict[str, Any] = {
    "slices": {"columns": []},
    "importance_rows": 200,
    "importance_repeats": 2,
}

# --- the datasets (shipped with scikit-learn: no download) ------------------------------


def breast_cancer() -> pd.DataFrame:
    """569 tumours, 30 numeric measurements and `diagnosis` as text: malignant / benign."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["diagnosis"] = data.target_names[data.target.to_numpy()]
    return frame


def wine() -> pd.DataFrame:
    """178 wines, 13 numeric measurements and `cultivar`, an integer code 0, 1 or 2."""
    frame = load_wine(as_frame=True).frame
    return frame.rename(columns={"target": "cultivar"})


def diabetes() -> pd.DataFrame:
    """442 patients, 10 (scaled) numeric measurements and `progression`, a number."""
    frame = load_diabetes(as_frame=True).frame
    return frame.rename(columns={"target": "progression"})


# --- params ---------------------------------------------------------------------------


def minimal_params(
    source: dict[str, Any],
    target: dict[str, Any],
    split: str = "stratified",
    **sections: Any,
) -> dict[str, Any]:
    """A params.yaml a user could write for their own table: one source, the target, a split,
    a small model; everything else left to its default."""
    params: dict[str, Any] = {
        "sources": {"data": source},
        "preprocess": {
            "base": "data",
            "target": target,
            "split": {"method": split, "test_fraction": 0.25, "seed": 1},
        },
        "train": FAST_TRAIN,
        "evaluate": FAST_EVALUATE,
        **{name: {} for name in DEFAULT_SECTIONS},
    }
    params.update(sections)
    return params


def write_params(repo: PipelineRepo, params: dict[str, Any]) -> None:
    """Replace the repository's params.yaml with `params`."""
    (repo.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def new_repo(path: Path) -> PipelineRepo:
    """A fresh copy of the project; stages single-threaded (small data, a busy 2-core box)."""
    repo = make_pipeline_repo(path)
    return repo


def repro(repo: PipelineRepo) -> tuple[int, list[str], str]:
    """`dvc repro` without failing the test: (exit code, stages run, the stages' stderr)."""
    done = repo.run("dvc", "repro", check=False)
    return done.returncode, re.findall(r"Running stage '([^']+)'", done.stdout), done.stderr


# --- a paged JSON API -----------------------------------------------------------------


class RecordsApi(CountingServer):
    """Serves `records` under /records?page=&page_size= as {"data": [...], "page": n}; any
    /status/<code> path answers that status; anything else is a 404. Counts hits per path."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__(_RecordsHandler)
        self.records = records


class _RecordsHandler(QuietHandler):
    server: RecordsApi

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.hit(parts.path)
        if parts.path == "/records":
            query = {key: int(values[0]) for key, values in parse_qs(parts.query).items()}
            page, size = query["page"], query["page_size"]
            rows = self.server.records[(page - 1) * size : page * size]
            self.send_json({"data": rows, "page": page})
        elif parts.path.startswith("/status/"):
            self.send_json({"error": "as requested"}, int(parts.path.rsplit("/", 1)[1]))
        else:
            self.send_json({"error": "not found"}, 404)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a JSON API sends them (Python floats round-trip exactly through json)."""
    return json.loads(json.dumps(frame.to_dict(orient="records")))


def records_api(records: list[dict[str, Any]]) -> AbstractContextManager[RecordsApi]:
    """The records API, running for the duration of a `with` block."""
    return running(RecordsApi(records))


# --- what a failed run leaves behind ----------------------------------------------------


def leftovers(root: Path) -> list[str]:
    """Hidden files and folders anywhere under root except DVC's .gitignore files: what an
    interrupted atomic write leaves (`.name.XXXX.tmp`, a retired `.name.old.XXXX` folder)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*") if p.name != ".gitignore")


def error_lines(stderr: str) -> list[str]:
    """The ERROR lines the stages logged (DVC's own `ERROR: failed to reproduce` excluded)."""
    return [line for line in stderr.splitlines() if re.search(r" ERROR [\w.]+: ", line)]
