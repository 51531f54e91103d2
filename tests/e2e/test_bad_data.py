"""A user's bad table, end to end: the real `dvc repro` stops with one precise message.

Every case starts from the real breast cancer dataset scikit-learn ships (569 tumours, 30
measurements, `diagnosis` malignant / benign) and breaks it the way real exports break:
an empty or header-only file, a missing, empty or constant target, text in a numeric
column, Latin-1 bytes, a database nobody listens for, an API answering 404 or 500.

Each case asserts a non-zero exit, exactly one error line from the failing stage naming
the column, file or host and the problem, no traceback, and nothing half-written under
data/: no snapshot for a source collect could not read, no train/test split, no
temporary file of an interrupted atomic write. Validation failures also leave
reports/validation.json with status "failed" naming the column. One repository serves
every case; data, outputs, the lock file and DVC's cache (whose run cache would restore an
earlier snapshot) are removed between cases.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.support.http import free_port
from tests.support.own_data import (
    STAGES,
    RecordsApi,
    breast_cancer,
    error_lines,
    json_records,
    leftovers,
    minimal_params,
    new_repo,
    records_api,
    repro,
    write_params,
)
from tests.support.pipeline import PipelineRepo

pytestmark = pytest.mark.e2e

TARGET = {"column": "diagnosis", "name": "label", "positive_label": "malignant"}
CSV = "input/data.csv"
DB_USER_ENV = "LIFECYCLE_BAD_DATA_DB_USER"
DB_PASSWORD_ENV = "LIFECYCLE_BAD_DATA_DB_PASSWORD"
DB_PASSWORD = "s3cret-Pa55word"
CLINICS = ["Hôpital Nord", "Clinique Sainte-Thérèse", "Centre Léon Bérard"]


@dataclass(frozen=True)
class Context:
    """What a case's `write` may use: the repository root, the dataset, the local API."""

    root: Path
    frame: pd.DataFrame
    api: RecordsApi

    def csv(self, frame: pd.DataFrame, encoding: str = "utf-8") -> dict[str, Any]:
        (self.root / CSV).write_bytes(frame.to_csv(index=False).encode(encoding))
        return {"kind": "csv", "path": CSV}


@dataclass(frozen=True)
class Case:
    """One way to break the data: `write` stores it and returns the source's params."""

    id: str
    write: Callable[[Context], dict[str, Any]]
    stage: str  # the stage that must stop
    expected: Callable[[Context], list[str]]  # every piece the one error line must hold
    check: str | None = None  # the validation check that fails (preprocess)
    column: str | None = None  # the column it names
    hits: dict[str, int] = field(default_factory=dict)  # API requests the case makes


def _empty(context: Context) -> dict[str, Any]:
    (context.root / CSV).write_bytes(b"")
    return {"kind": "csv", "path": CSV}


def _header_only(context: Context) -> dict[str, Any]:
    return context.csv(context.frame.head(0))


def _without_target(context: Context) -> dict[str, Any]:
    return context.csv(context.frame.drop(columns="diagnosis"))


def _target_all_missing(context: Context) -> dict[str, Any]:
    return context.csv(context.frame.assign(diagnosis=None))


def _benign_only(context: Context) -> dict[str, Any]:
    """An export filtered to one class: every label is "benign"."""
    return context.csv(context.frame[context.frame["diagnosis"] == "benign"])


def _text_in_numbers(context: Context) -> dict[str, Any]:
    """Three measurements replaced by the notes a spreadsheet user types instead."""
    frame = context.frame.astype({"mean radius": object})
    frame.loc[[3, 50, 200], "mean radius"] = ["?", "not measured", "?"]
    return context.csv(frame)


def _latin_1(context: Context) -> dict[str, Any]:
    """The table with the clinic of each tumour, saved by a tool that writes Latin-1."""
    clinics = (CLINICS * len(context.frame))[: len(context.frame)]
    return context.csv(context.frame.assign(clinic=clinics), encoding="latin-1")


def _closed_port(context: Context) -> dict[str, Any]:
    return {
        "kind": "sql",
        "url": f"postgresql+psycopg://127.0.0.1:{CLOSED_PORT}/warehouse",
        "table": "tumours",
        "user_env": DB_USER_ENV,
        "password_env": DB_PASSWORD_ENV,
    }


def _api(path: str) -> Callable[[Context], dict[str, Any]]:
    def write(context: Context) -> dict[str, Any]:
        url = context.api.url + path
        return {"kind": "http_api", "url": url, "max_retries": 1, "backoff_seconds": 0}

    return write


CLOSED_PORT = free_port()  # nothing listens there

CASES = [
    Case("empty-file", _empty, "collect", lambda c: [f"source file {CSV} is empty"]),
    Case("header-only", _header_only, "collect", lambda c: [f"source 'data' ({CSV}) has no rows"]),
    Case(
        "missing-target",
        _without_target,
        "preprocess",
        lambda c: ["target column 'diagnosis' (preprocess.target.column) is absent"],
        "missing_column",
        "diagnosis",
    ),
    Case(
        "target-all-missing",
        _target_all_missing,
        "preprocess",
        lambda c: ["target column 'diagnosis' has no value in any of the 569 rows"],
        "target_missing_values",
        "diagnosis",
    ),
    Case(
        "constant-target",
        _benign_only,
        "preprocess",
        lambda c: ["the target (column 'diagnosis') has the single value 'benign' in all 357"],
        "target_constant",
        "diagnosis",
    ),
    Case(
        "mixed-types",
        _text_in_numbers,
        "preprocess",
        lambda c: ["column 'mean radius'", "3 value(s) are not numbers", "'?'", "'not measured'"],
        "mixed_types",
        "mean radius",
    ),
    Case(
        "latin-1",
        _latin_1,
        "collect",
        lambda c: [f"source file {CSV} is not valid utf-8", "`encoding`"],
    ),
    Case(
        "unreachable-database",
        _closed_port,
        "collect",
        lambda c: [f"cannot connect to postgresql database 'warehouse' at 127.0.0.1:{CLOSED_PORT}: "],
    ),
    Case(
        "http-404",
        _api("/tumours"),
        "collect",
        lambda c: [f"GET {c.api.url}/tumours failed: HTTP 404 Not Found"],
        hits={"/tumours": 1},  # a client error is not retried
    ),
    Case(
        "http-500",
        _api("/status/500"),
        "collect",
        lambda c: [f"GET {c.api.url}/status/500 failed: HTTP 500 Internal Server Error (gave up after 2 attempt(s))"],
        hits={"/status/500": 2},  # max_retries 1: the request and one retry
    ),
]


@dataclass
class Outcome:
    code: int
    stages: list[str]
    stderr: str
    errors: list[str]  # the stages' ERROR lines


@pytest.fixture(scope="module")
def api() -> Iterator[RecordsApi]:
    with records_api(json_records(breast_cancer())) as server:
        yield server


@pytest.fixture(scope="module")
def bad_repo(tmp_path_factory: pytest.TempPathFactory) -> PipelineRepo:
    repo = new_repo(tmp_path_factory.mktemp("bad_data"))
    repo.env.update({DB_USER_ENV: "collector", DB_PASSWORD_ENV: DB_PASSWORD})
    return repo


@pytest.fixture(scope="module")
def outcomes(bad_repo: PipelineRepo, api: RecordsApi) -> Callable[[Case], Outcome]:
    """Run a case once in the shared repository (later asks get the same outcome)."""
    done: dict[str, Outcome] = {}
    frame = breast_cancer()

    def outcome(case: Case) -> Outcome:
        if case.id not in done:
            _reset(bad_repo)
            api.hits.clear()
            context = Context(bad_repo.path, frame, api)
            write_params(bad_repo, minimal_params(case.write(context), TARGET))
            code, stages, stderr = repro(bad_repo)
            done[case.id] = Outcome(code, stages, stderr, error_lines(stderr))
            assert dict(api.hits) == case.hits
        return done[case.id]

    return outcome


def _reset(repo: PipelineRepo) -> None:
    """Back to a fresh clone: no data, outputs, lock or cache; an empty input folder."""
    for folder in ("data", "metrics", "models", "reports", "input", ".dvc/cache"):
        shutil.rmtree(repo.path / folder, ignore_errors=True)
    (repo.path / "dvc.lock").unlink(missing_ok=True)
    (repo.path / "input").mkdir()
    repo.run("git", "checkout", "-q", "HEAD", "--", "data")  # data/external, collect's dependency


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_data_stops_with_one_precise_message(
    case: Case, outcomes: Callable[[Case], Outcome], bad_repo: PipelineRepo, api: RecordsApi
) -> None:
    outcome = outcomes(case)
    root = bad_repo.path
    assert outcome.code != 0
    assert outcome.stages == STAGES[: STAGES.index(case.stage) + 1]
    assert f"failed to reproduce '{case.stage}'" in outcome.stderr
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert len(outcome.errors) == 1, outcome.stderr
    message = outcome.errors[0]
    for piece in case.expected(Context(root, breast_cancer(), api)):
        assert piece in message, message
    assert DB_PASSWORD not in outcome.stderr
    # nothing half-written: no snapshot of an unreadable source, no split, no temp file
    raw = sorted(p.name for p in (root / "data/raw").glob("*"))  # none if no data/raw
    assert raw == ([] if case.stage == "collect" else ["data.parquet"])
    assert not (root / "data/interim/train.parquet").exists()
    assert not (root / "data/interim/test.parquet").exists()
    assert not (root / "data/features").exists()
    assert leftovers(root / "data") == [] and leftovers(root / "metrics") == []
    if case.check is None:
        return
    report = bad_repo.read_json("reports/validation.json")
    assert report["status"] == "failed"
    failed = [c for c in report["checks"] if c["severity"] == "error"]
    assert [(c["check"], c["column"]) for c in failed] == [(case.check, case.column)]
    assert failed[0]["message"] in message
    assert case.column in (root / "reports/validation.md").read_text()
    assert "reports/validation.md" in message  # the message points at the full report


def test_missing_target_lists_the_available_columns(outcomes: Callable[[Case], Outcome]) -> None:
    case = next(c for c in CASES if c.id == "missing-target")
    message = outcomes(case).errors[0]
    assert all(column in message for column in ("mean radius", "worst symmetry", "mean area"))
