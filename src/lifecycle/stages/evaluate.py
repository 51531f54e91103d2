"""evaluate: test metrics for the task, fit diagnosis, baselines, slices, importance, plot data
for `dvc plots`, PNGs, and the test predictions."""

from __future__ import annotations

import logging

import pandas as pd

from lifecycle import paths
from lifecycle.artifacts import FeatureRoles, TrainMetrics
from lifecycle.config import load_params
from lifecycle.evaluation import figures
from lifecycle.evaluation.baselines import baseline_metrics, lift
from lifecycle.evaluation.diagnosis import diagnose_fit
from lifecycle.evaluation.importance import raw_column_importance
from lifecycle.evaluation.slices import slice_metrics
from lifecycle.packaging.inference import inference_pipeline
from lifecycle.stages.runner import run_stage
from lifecycle.storage import read_joblib, read_parquet, write_csv, write_json, write_parquet
from lifecycle.tasks.base import Evaluation
from lifecycle.tasks.registry import task_named

logger = logging.getLogger(__name__)


def main() -> None:
    settings = load_params().evaluate
    roles = FeatureRoles.read(paths.FEATURE_ROLES)
    trained = TrainMetrics.read(paths.TRAIN_METRICS)
    target, task, classes = roles.target, task_named(roles.task), roles.classes
    threshold = trained.threshold.threshold if trained.threshold is not None else None
    model = read_joblib(paths.MODEL)
    train = read_parquet(paths.FEATURES_TRAIN)
    test = read_parquet(paths.FEATURES_TEST)
    X_test, y = test.drop(columns=target), test[target].to_numpy()
    scores = task.model_scores(model, X_test, classes)
    result = task.evaluate(y, scores, classes, threshold, settings)
    metrics = result.metrics

    metric = task.main_metric(settings.diagnosis.metric, "evaluate.diagnosis.metric")
    metrics["diagnosis"] = diagnose_fit(
        trained.cv_mean("train", metric),
        trained.cv_mean("validation", metric),
        metrics[metric],
        settings.diagnosis.model_copy(update={"metric": metric}),
        trained.warnings,
    )
    logger.info("test %s %.4f; fitting the baselines %s", metric, metrics[metric], sorted(task.baselines))
    baselines = baseline_metrics(train.drop(columns=target), train[target], X_test, y, settings.seed, task)
    metrics["baselines"] = baselines
    metrics["lift"] = lift(metrics, baselines)

    raw_test = read_parquet(paths.INTERIM_TEST)
    slices = slice_metrics(raw_test, y, scores, settings.slices, task, threshold, classes)
    sample = raw_test.sample(n=min(settings.importance_rows, len(raw_test)), random_state=settings.seed)
    logger.info("permutation importance: %d rows, %d repeats per column", len(sample), settings.importance_repeats)
    pipeline = inference_pipeline(read_joblib(paths.FEATURIZER), model)
    importance = raw_column_importance(
        pipeline,
        sample[roles.inputs],
        sample[target].to_numpy(),
        settings.importance_repeats,
        settings.seed,
        scoring=task.default_metric,
    )
    write_outputs(result, slices, importance)
    logger.info("%s task: test %s %.4f; %s", task.name, metric, metrics[metric], metrics["diagnosis"]["verdict"])


def write_outputs(result: Evaluation, slices: dict[str, object], importance: list[dict[str, object]]) -> None:
    """Metrics and plot data (git-tracked), PNGs and predictions (DVC-cached).

    Every file of `paths.PLOT_FILES` is written, empty where the task has no such plot:
    dvc.yaml declares each, and a declared file that is missing fails `dvc plots show`.
    """
    write_json(result.metrics, paths.EVALUATE_METRICS)
    write_json(slices, paths.SLICE_METRICS)
    plots = {**result.plots, "importance.json": importance}
    for name in paths.PLOT_FILES:
        data = plots.get(name, [])
        if name.endswith(".csv"):
            write_csv(pd.DataFrame(data), paths.plot_data(name))
        else:
            write_json(data, paths.plot_data(name))
    write_parquet(result.predictions, paths.TEST_PREDICTIONS)
    for name, draw in result.figures.items():
        draw(paths.figure(name))
    figures.importance_figure({"model": importance}, paths.figure("importance"))


if __name__ == "__main__":
    run_stage(main)
