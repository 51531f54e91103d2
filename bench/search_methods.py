"""Benchmark: Optuna (the search stage) against scikit-learn's successive halving.

Both search the same families and spaces (`DEFAULT_SPACES`) with the same number of
candidates, scored by the same cross-validation folds and metric, on the features the
pipeline writes for a public table (`dvc repro featurize` in a temporary clone, as
bench/own_data.py runs it). Each method's best candidate is refitted on the whole train
split and scored on the test split. Prints a Markdown table: wall time, best
cross-validated score and test score per table and method.

    pip install -r bench/requirements.txt
    python -m bench.search_methods [table ...]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401  (enables the import below)
from sklearn.model_selection import HalvingRandomSearchCV
from sklearn.pipeline import Pipeline

from bench.own_data import TABLES, Table, run_pipeline
from lifecycle.artifacts import FeatureRoles
from lifecycle.config import Choices, Range, SearchSettings, TrainSettings
from lifecycle.tasks.base import Task
from lifecycle.tasks.registry import task_named
from lifecycle.training.cross_validation import ModelSpec, cv_splitter
from lifecycle.training.families import build_estimator, family_settings
from lifecycle.training.search import run_search

logger = logging.getLogger("bench.search_methods")
DEFAULT_TABLES = ["credit_data", "wa_churn", "hpc_data", "ames", "hotel_rates"]
CANDIDATES = 40
SEED = 13


class _LogInt:
    """Integers drawn log-uniformly (scipy has no discrete log-uniform)."""

    def __init__(self, low: int, high: int) -> None:
        self.dist = loguniform(low, high + 1)

    def rvs(self, random_state: Any = None, size: Any = None) -> int:
        return int(self.dist.rvs(random_state=random_state))


def _distribution(dimension: Range | Choices) -> Any:
    if isinstance(dimension, Choices):
        return list(dimension.choices)
    low, high = dimension.low, dimension.high
    if dimension.integer:
        return _LogInt(int(low), int(high)) if dimension.log else randint(int(low), int(high) + 1)
    return loguniform(low, high) if dimension.log else uniform(low, high - low)


def _halving_spaces(search: SearchSettings, categorical: list[str], task: Task) -> list[dict[str, Any]]:
    """One dict per family: the estimator, and its hyper-parameters' distributions."""
    spaces = []
    for family in search.families:
        estimator = build_estimator(TrainSettings(model=family, seed=SEED), categorical, task)
        space: dict[str, Any] = {"model": [estimator]}
        for key, dimension in search.space(family).items():
            if family == "logistic_regression" and not task.classification:  # ridge: alpha = 1 / C
                space["model__alpha"] = loguniform(1 / dimension.high, 1 / dimension.low)
            else:
                space[f"model__{key}"] = _distribution(dimension)
        spaces.append(space)
    return spaces


def _test_score(model: Any, X: pd.DataFrame, y: pd.Series, task: Task, classes: Any, metric: str) -> float:
    return task.score_metrics(y.to_numpy(), task.model_scores(model, X, classes), classes)[metric]


def compare(table: Table, workdir: Path) -> list[tuple[str, str, float, float, float]]:
    """Rows (table, method, seconds, best cross-validated score, test score)."""
    repo, _, _ = run_pipeline(table, table.load(), workdir, "featurize")
    roles = FeatureRoles.read(repo / "data/features/roles.json")
    task, classes = task_named(roles.task), roles.classes
    train = pd.read_parquet(repo / "data/features/train.parquet")
    test = pd.read_parquet(repo / "data/features/test.parquet")
    X, y = train.drop(columns=roles.target), train[roles.target]
    X_test, y_test = test.drop(columns=roles.target), test[roles.target]
    search = SearchSettings(enabled=True, trials=CANDIDATES, seed=SEED)
    splitter = cv_splitter(roles.split, search.cv_folds, SEED, task)
    metric = task.default_metric
    rows = []

    start = time.perf_counter()
    outcome = run_search(
        X, y, ModelSpec(TrainSettings(seed=SEED), roles.categorical_outputs, task, classes), splitter, search
    )
    seconds = time.perf_counter() - start
    chosen = family_settings(TrainSettings(seed=SEED), outcome.best.family, outcome.best.params)
    model = build_estimator(chosen, roles.categorical_outputs, task).fit(X, y)
    rows.append(
        (
            table.name,
            "optuna TPE + median pruning",
            seconds,
            outcome.best.mean,
            _test_score(model, X_test, y_test, task, classes, metric),
        )
    )

    def scorer(estimator: Any, X_part: pd.DataFrame, y_part: pd.Series) -> float:
        return _test_score(estimator, X_part, y_part, task, classes, metric)

    halving = HalvingRandomSearchCV(
        Pipeline([("model", build_estimator(TrainSettings(seed=SEED), roles.categorical_outputs, task))]),
        _halving_spaces(search, roles.categorical_outputs, task),
        n_candidates=CANDIDATES,
        factor=3,
        min_resources="exhaust",  # the last round fits all rows; the default starts at a dozen rows
        cv=splitter,
        scoring=scorer,
        random_state=SEED,
        error_score=np.nan,
    )
    start = time.perf_counter()
    halving.fit(X, y)
    seconds = time.perf_counter() - start
    rows.append(
        (
            table.name,
            "successive halving (factor 3)",
            seconds,
            float(halving.best_score_),
            _test_score(halving.best_estimator_, X_test, y_test, task, classes, metric),
        )
    )
    for row in rows[-2:]:
        logger.info("%s %s: %.0f s, cv %.4f, test %.4f", *row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", nargs="*", default=DEFAULT_TABLES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chosen = [t for t in TABLES if t.name in args.tables]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as workdir:
        rows = [row for table in chosen for row in compare(table, Path(workdir))]
    lines = [
        "| table | method | wall (s) | best cross-validated score | test score |",
        "| --- | --- | ---: | ---: | ---: |",
        *(f"| {t} | {m} | {s:.0f} | {cv:.4f} | {test:.4f} |" for t, m, s, cv, test in rows),
    ]
    logger.info("%s", "\n".join(lines))


if __name__ == "__main__":
    main()
