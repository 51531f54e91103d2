"""A user's own table, end to end: the real `dvc repro` driven only by a params.yaml written
from scratch, on datasets scikit-learn ships (no download), through five source kinds.

- breast cancer (binary, string labels, positive label "malignant") from a CSV file and
  from PostgreSQL (skipped when no server listens on 127.0.0.1:5432);
- wine (multiclass, integer class codes) from a Parquet file and from a paged JSON API
  served by a real HTTP server on 127.0.0.1;
- diabetes (regression) from a SQLite database.

Each run gets its own temporary git + DVC repository. Only the source, the target, the
split and a small model are set; every other section keeps its defaults, which is part of
what is tested. The task is inferred for breast cancer (CSV) and wine, declared for
diabetes and for breast cancer from PostgreSQL.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine

from lifecycle import paths
from tests.support.own_data import (
    FAST_TRAIN,
    STAGES,
    RecordsApi,
    breast_cancer,
    diabetes,
    json_records,
    minimal_params,
    new_repo,
    records_api,
    repro,
    wine,
    write_params,
)
from tests.support.pipeline import PipelineRepo
from tests.support.postgres import POSTGRES_URL, drop_table, postgres_url, without_user

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
PG_TABLE = "lifecycle_own_data_breast_cancer"
PG_USER_ENV = "LIFECYCLE_OWN_DATA_PGUSER"

BREAST_CANCER_TARGET = {"column": "diagnosis", "name": "label", "positive_label": "malignant"}
WINE_TARGET = {"column": "cultivar", "name": "label"}
DIABETES_TARGET = {"column": "progression", "name": "label", "task": "regression"}


@dataclass
class Run:
    """One `dvc repro` of a user's table and what it is checked against."""

    repo: PipelineRepo
    code: int
    stages: list[str]
    stderr: str
    frame: pd.DataFrame  # the table as written to the source
    target: str  # its target column
    task: str  # the task the run must learn
    inferred: bool  # whether params leave the task to inference

    @property
    def features(self) -> list[str]:
        return [c for c in self.frame.columns if c != self.target]


@dataclass(frozen=True)
class Spec:
    """A user's table and the params they write for it; `write` stores the table under
    the repository root and returns the source's params."""

    name: str
    frame: pd.DataFrame
    write: Callable[[Path], dict[str, Any]]
    target: dict[str, Any]
    task: str
    split: str = "stratified"
    train: dict[str, Any] = field(default_factory=lambda: FAST_TRAIN)
    env: dict[str, str] = field(default_factory=dict)


def _reproduce(spec: Spec, path: Path) -> Run:
    """A fresh repository holding the user's table and params, and its first `dvc repro`."""
    repo = new_repo(path)
    repo.env.update(spec.env)
    (repo.path / "input").mkdir()
    source = spec.write(repo.path)
    write_params(repo, minimal_params(source, spec.target, spec.split, train=spec.train))
    repo.commit("my own table")
    code, stages, stderr = repro(repo)
    inferred = "task" not in spec.target
    return Run(repo, code, stages, stderr, spec.frame, spec.target["column"], spec.task, inferred)


def _csv(frame: pd.DataFrame, name: str) -> Callable[[Path], dict[str, Any]]:
    def write(root: Path) -> dict[str, Any]:
        frame.to_csv(root / "input" / name, index=False)
        return {"kind": "csv", "path": f"input/{name}"}

    return write


def _parquet(frame: pd.DataFrame, name: str) -> Callable[[Path], dict[str, Any]]:
    def write(root: Path) -> dict[str, Any]:
        frame.to_parquet(root / "input" / name, index=False)
        return {"kind": "parquet", "path": f"input/{name}"}

    return write


def _sqlite(frame: pd.DataFrame, name: str, table: str) -> Callable[[Path], dict[str, Any]]:
    def write(root: Path) -> dict[str, Any]:
        engine = create_engine(f"sqlite:///{root / 'input' / name}")
        frame.to_sql(table, engine, index=False)
        engine.dispose()
        return {"kind": "sql", "url": f"sqlite:///input/{name}", "table": table}

    return write


def _postgres(root: Path) -> dict[str, Any]:
    # the table is loaded by the `postgres` fixture; the user name comes from the
    # environment (user_env): params.yaml holds no credentials
    return {"kind": "sql", "url": without_user(POSTGRES_URL)[0], "table": PG_TABLE, "user_env": PG_USER_ENV}


def _http_api(api: RecordsApi) -> Callable[[Path], dict[str, Any]]:
    def write(root: Path) -> dict[str, Any]:
        return {
            "kind": "http_api",
            "url": f"{api.url}/records",
            "pagination": "page",
            "page_size": 50,
            "records_path": "data",
            "max_retries": 0,
        }

    return write


@pytest.fixture(scope="module")
def postgres() -> Iterator[str | None]:
    """The breast cancer table in the test PostgreSQL database; None (and the reason) when no
    server answers, so that only the PostgreSQL run is skipped."""
    try:
        admin_url = postgres_url()
    except pytest.skip.Exception as skipped:
        yield str(skipped)
        return
    engine = create_engine(admin_url)
    breast_cancer().to_sql(PG_TABLE, engine, index=False, if_exists="replace")
    engine.dispose()
    try:
        yield None
    finally:
        drop_table(admin_url, PG_TABLE)


@pytest.fixture(scope="module")
def wine_api() -> Iterator[RecordsApi]:
    """The wine table behind a paged JSON API; up for the whole module, so a second
    `dvc repro` that wrongly collected again would succeed, and show in the hit count."""
    with records_api(json_records(wine())) as api:
        yield api


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, postgres: str | None, wine_api: RecordsApi) -> dict[str, Run | str]:
    """Every run, each in its own repository: a Run, or the reason it was skipped.

    The stages run single-threaded, so two pipelines run side by side on a 2-core machine.
    """
    cancer, grapes, patients = breast_cancer(), wine(), diabetes()
    specs = [
        Spec("breast_cancer_csv", cancer, _csv(cancer, "breast_cancer.csv"), BREAST_CANCER_TARGET, "binary"),
        Spec(
            "breast_cancer_postgres",
            cancer,
            _postgres,
            {**BREAST_CANCER_TARGET, "task": "binary"},
            "binary",
            env={PG_USER_ENV: without_user(POSTGRES_URL)[1] or ""},
        ),
        Spec("wine_parquet", grapes, _parquet(grapes, "wine.parquet"), WINE_TARGET, "multiclass"),
        Spec("wine_http_api", grapes, _http_api(wine_api), WINE_TARGET, "multiclass"),
        Spec(
            "diabetes_sqlite",
            patients,
            _sqlite(patients, "diabetes.sqlite", "patients"),
            DIABETES_TARGET,
            "regression",
            split="random",
            # 331 noisy training rows: leaves of 5 rows overfit (test R² ≈ 0.14); fewer,
            # larger leaves generalise (R² ≈ 0.33; a linear model gets ≈ 0.45 on this data)
            train={
                **FAST_TRAIN,
                "hist_gradient_boosting": {"max_iter": 50, "max_leaf_nodes": 8, "min_samples_leaf": 20},
            },
        ),
    ]
    skipped = {"breast_cancer_postgres": postgres} if postgres else {}
    todo = [spec for spec in specs if spec.name not in skipped]
    folders = [tmp_path_factory.mktemp(spec.name) for spec in todo]  # not from two threads at once
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        done = pool.map(_reproduce, todo, folders)
        return {**skipped, **{spec.name: run for spec, run in zip(todo, done, strict=True)}}


RUNS = [
    "breast_cancer_csv",
    "breast_cancer_postgres",
    "wine_parquet",
    "wine_http_api",
    "diabetes_sqlite",
]


def _get(runs: dict[str, Run | str], name: str) -> Run:
    result = runs[name]
    if isinstance(result, str):
        pytest.skip(result)
    return result


@pytest.fixture(params=RUNS)
def run(request: pytest.FixtureRequest, runs: dict[str, Run | str]) -> Run:
    """Each run in turn (the pipelines ran once, for the whole module)."""
    return _get(runs, request.param)


# --- every run ------------------------------------------------------------------------


def test_repro_runs_all_six_stages(run: Run) -> None:
    assert run.code == 0, run.stderr
    assert run.stages == STAGES


def test_task_is_learnt_and_stated(run: Run) -> None:
    assert run.repo.read_json("metrics/train.json")["task"] == run.task
    assert run.repo.read_json("metrics/preprocess.json")["task"] == run.task
    inferred = f"task inferred from target {run.target!r}: {run.task}"
    assert (inferred in run.stderr) == run.inferred, run.stderr
    assert f"{run.task} task: train " in run.stderr
    classes = {"binary": ["benign", "malignant"], "multiclass": [0, 1, 2], "regression": None}
    assert run.repo.read_json("data/interim/roles.json")["classes"] == classes[run.task]


def test_collect_snapshots_the_whole_table(run: Run) -> None:
    raw = pd.read_parquet(run.repo.path / "data/raw/data.parquet")
    pd.testing.assert_frame_equal(raw, run.frame)
    assert run.repo.read_json("metrics/collect.json")["data"]["rows"] == len(run.frame)


def test_validation_passes_and_names_every_column_with_a_role(run: Run) -> None:
    report = run.repo.read_json("reports/validation.json")
    assert report["status"] in ("passed", "passed with warnings"), report["checks"]
    assert report["task"] == run.task and report["target"] == run.target
    schema = report["schema"]
    assert set(schema) == set(run.frame.columns)
    assert schema[run.target]["role"] == "target"
    assert {schema[c]["role"] for c in run.features} == {"numeric"}
    assert all(entry["reason"] for entry in schema.values())
    summary = (run.repo.path / "reports/validation.md").read_text()
    assert f"target `{run.target}`, task {run.task}" in summary


def test_package_schema_lists_the_features_with_their_role(run: Run) -> None:
    schema = json.loads((run.repo.path / "models/package/schema.json").read_text())
    columns = schema["columns"]
    assert [c["name"] for c in columns] == run.features
    assert {(c["kind"], c["role"]) for c in columns} == {("numeric", "numeric")}
    assert all(c["reason"] for c in columns)


def _evaluate(run: Run) -> dict[str, Any]:
    return run.repo.read_json("metrics/evaluate.json")


def _assert_pngs(repo: PipelineRepo, *names: str) -> None:
    for name in (*names, "evaluate/importance", "train/learning_curve"):
        assert (repo.path / f"reports/{name}.png").read_bytes()[:8] == PNG, name


def _plot_files(repo: PipelineRepo) -> set[str]:
    """The plot data files with rows: every task writes every declared file, the others empty."""
    written = {p.name: p.read_text().strip() for p in (repo.path / "metrics/plots").iterdir()}
    assert sorted(written) == sorted(paths.PLOT_FILES)
    return {name for name, text in written.items() if text not in ("", "[]")}


def test_task_metrics_and_plots(run: Run) -> None:
    evaluate, repo = _evaluate(run), run.repo
    assert abs(evaluate["rows"] - len(run.frame) * 0.25) <= 1  # test_fraction 0.25
    importance = json.loads((repo.path / "metrics/plots/importance.json").read_text())
    assert {row["feature"] for row in importance} <= set(run.features) and importance
    if run.task == "binary":
        # breast cancer is easy: any sound pipeline separates it almost perfectly
        assert 0.95 < evaluate["roc_auc"] <= 1.0
        assert 0.93 < evaluate["average_precision"] <= 1.0
        assert 0.85 < evaluate["f1"] <= 1.0 and 0.88 < evaluate["accuracy"] <= 1.0
        assert 0.0 < evaluate["brier"] < 0.1
        assert sum(evaluate["confusion"].values()) == evaluate["rows"]
        assert _plot_files(repo) == {
            "roc.json",
            "precision_recall.json",
            "calibration.json",
            "confusion.csv",
            "importance.json",
        }
        _assert_pngs(repo, "evaluate/roc", "evaluate/precision_recall", "evaluate/calibration", "evaluate/confusion")
    elif run.task == "multiclass":
        labels = ["0", "1", "2"]
        assert 0.85 < evaluate["f1_macro"] <= 1.0
        assert 0.85 < evaluate["f1_weighted"] <= 1.0
        assert 0.85 < evaluate["precision_macro"] <= 1.0
        assert 0.85 < evaluate["recall_weighted"] <= 1.0
        assert 0.95 < evaluate["roc_auc_ovr"] <= 1.0
        assert [row["class"] for row in evaluate["per_class"]] == labels
        assert sum(c["support"] for c in evaluate["per_class"]) == evaluate["rows"]
        assert evaluate["confusion"]["labels"] == labels
        assert sum(map(sum, evaluate["confusion"]["matrix"])) == evaluate["rows"]
        assert _plot_files(repo) == {"confusion.csv", "importance.json"}
        confusion = pd.read_csv(repo.path / "metrics/plots/confusion.csv", dtype=str)
        assert list(confusion.columns) == ["actual", "predicted"]
        assert sorted(confusion["actual"].unique()) == labels
        assert set(confusion["predicted"]) <= set(labels)
        assert len(confusion) == evaluate["rows"]
        _assert_pngs(repo, "evaluate/confusion")
    else:
        for name in ("mse", "rmse", "mae", "r2", "median_absolute_error"):
            assert math.isfinite(evaluate[name]), name
        # diabetes progression is noisy: R² ≈ 0.33 here, ≈ 0.45 for a linear model
        assert 0.2 < evaluate["r2"] < 0.8
        assert evaluate["rmse"] == pytest.approx(math.sqrt(evaluate["mse"]), rel=1e-4)
        assert 0 < evaluate["median_absolute_error"] <= evaluate["mae"] * 1.5
        assert evaluate["mae"] < evaluate["target_std"]
        assert _plot_files(repo) == {"predictions.json", "residual_histogram.json", "importance.json"}
        for name in ("predictions.json", "residual_histogram.json"):
            assert json.loads((repo.path / "metrics/plots" / name).read_text()), name
        _assert_pngs(repo, "evaluate/predicted_vs_actual", "evaluate/residuals", "evaluate/residual_histogram")


def test_dvc_plots_show_renders_the_task_plots(runs: dict[str, Run | str]) -> None:
    """dvc.yaml's plots cover every task, and every one loads: a task writes the plots that do
    not apply to it empty, so `dvc plots show` fails on none."""
    for name, expected in (
        ("diabetes_sqlite", {"metrics/plots/predictions.json", "residuals"}),
        ("breast_cancer_csv", {"metrics/plots/roc.json"}),
    ):
        done = _get(runs, name).repo.run("dvc", "plots", "show", "--json")
        shown = json.loads(done.stdout)
        assert not shown.get("errors") and "failed to load" not in done.stderr, (name, shown.get("errors"))
        for plot in expected:
            assert shown["data"][plot], (name, plot)


def _sample_rows(run: Run) -> pd.DataFrame:
    """Two rows of each class (classification) or the first six rows (regression)."""
    if run.task == "regression":
        return run.frame.head(6)
    return run.frame.groupby(run.target, sort=True).head(2)


def test_predict_cli_scores_raw_rows(run: Run, tmp_path: Path) -> None:
    rows = _sample_rows(run)
    rows[run.features].to_csv(tmp_path / "rows.csv", index=False)
    run.repo.run(
        "python",
        "-m",
        "lifecycle",
        "predict",
        "--input",
        str(tmp_path / "rows.csv"),
        "--output",
        str(tmp_path / "predictions.csv"),
    )
    scored = pd.read_csv(tmp_path / "predictions.csv")
    assert len(scored) == len(rows)
    assert scored["error"].isna().all(), scored["error"].tolist()
    predicted, actual = scored["prediction"].tolist(), rows[run.target].tolist()
    if run.task == "regression":
        assert scored["prediction"].dtype == "float64"
        low, high = run.frame[run.target].min(), run.frame[run.target].max()
        assert all(low <= p <= high for p in predicted)
    else:
        classes = set(run.frame[run.target])
        assert set(predicted) <= classes
        # the labels' own type: text for breast cancer, integer codes for wine
        assert all(type(p) is type(a) for p, a in zip(predicted, actual, strict=True))
        assert scored["probability"].between(0, 1).all()
        if run.task == "binary":  # `probability` is the positive label's, cut at the threshold
            positive = scored["probability"] >= _evaluate(run)["threshold"]
            assert (positive == (scored["prediction"] == "malignant")).all()
        else:
            assert {f"probability_{c}" for c in classes} <= set(scored.columns)
        # rows the model trained on or near: an easy dataset gets (nearly) all of them right
        assert sum(p == a for p, a in zip(predicted, actual, strict=True)) >= len(rows) - 1


def test_second_repro_runs_nothing(run: Run) -> None:
    assert run.repo.repro() == []


# --- the same table through different source kinds --------------------------------------


def _raw(run: Run) -> pd.DataFrame:
    return pd.read_parquet(run.repo.path / "data/raw/data.parquet")


def test_breast_cancer_csv_and_postgres_give_the_same_snapshot(runs: dict[str, Run | str]) -> None:
    csv, postgres = _get(runs, "breast_cancer_csv"), _get(runs, "breast_cancer_postgres")
    pd.testing.assert_frame_equal(_raw(csv), _raw(postgres))
    assert _evaluate(csv)["roc_auc"] == _evaluate(postgres)["roc_auc"]


def test_wine_parquet_and_http_api_give_the_same_snapshot_and_model_inputs(
    runs: dict[str, Run | str],
) -> None:
    wine_parquet, wine_http_api = _get(runs, "wine_parquet"), _get(runs, "wine_http_api")
    pd.testing.assert_frame_equal(_raw(wine_parquet), _raw(wine_http_api))
    for name in ("data/interim/train.parquet", "data/interim/test.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(wine_parquet.repo.path / name),
            pd.read_parquet(wine_http_api.repo.path / name),
        )
    assert _evaluate(wine_parquet)["f1_macro"] == _evaluate(wine_http_api)["f1_macro"]


def test_http_api_is_read_page_by_page_once(runs: dict[str, Run | str], wine_api: RecordsApi) -> None:
    # 178 rows: pages of 50, 50, 50 and 28, then the empty fifth page ends the paging; the
    # second `dvc repro` (test_second_repro_runs_nothing) must not have called the API again
    assert _get(runs, "wine_http_api").code == 0
    assert wine_api.hits == {"/records": 5}
