"""evaluate: test metrics at the chosen threshold and at 0.5, fit diagnosis, baselines,
slices, importance, plot data for `dvc plots`, PNGs, and the test predictions."""

from __future__ import annotations

import logging

import pandas as pd

from lifecycle import figures, paths
from lifecycle.baselines import baseline_metrics, lift
from lifecycle.config import load_params
from lifecycle.diagnosis import diagnose_fit
from lifecycle.evaluation import (
    calibration_points,
    classification_metrics,
    confusion_rows,
    precision_recall_points,
    raw_column_importance,
    roc_points,
    threshold_metrics,
)
from lifecycle.inference import inference_pipeline
from lifecycle.slices import slice_metrics
from lifecycle.stages import run_stage
from lifecycle.storage import read_joblib, read_json, read_parquet, write_csv, write_json, write_parquet

logger = logging.getLogger(__name__)


def main() -> None:
    settings = load_params().evaluate
    roles = read_json(paths.FEATURE_ROLES)
    trained = read_json(paths.TRAIN_METRICS)
    target = roles["target"]
    threshold = trained["threshold"]["validation"]["threshold"]
    model = read_joblib(paths.MODEL)
    train = read_parquet(paths.FEATURES_TRAIN)
    test = read_parquet(paths.FEATURES_TEST)
    X_test, y = test.drop(columns=target), test[target].to_numpy()
    probability = model.predict_proba(X_test)[:, 1]
    predicted = (probability >= threshold).astype(int)

    metrics = classification_metrics(y, probability, threshold)
    metrics["at_0_5"] = threshold_metrics(y, probability, 0.5)
    metric = settings.diagnosis.metric
    metrics["diagnosis"] = diagnose_fit(
        trained["cv"][f"train_{metric}"]["mean"], trained["cv"][f"validation_{metric}"]["mean"], metrics[metric],
        settings.diagnosis,
    )
    baselines = baseline_metrics(train.drop(columns=target), train[target], X_test, y, settings.seed)
    metrics["baselines"] = baselines
    metrics["lift"] = lift(metrics, baselines)

    raw_test = read_parquet(paths.INTERIM_TEST)
    slices = slice_metrics(raw_test, y, probability, threshold, settings.slices)
    sample = raw_test.sample(n=min(settings.importance_rows, len(raw_test)), random_state=settings.seed)
    pipeline = inference_pipeline(read_joblib(paths.FEATURIZER), model)
    importance = raw_column_importance(
        pipeline, sample[roles["inputs"]], sample[target].to_numpy(), settings.importance_repeats, settings.seed
    )
    roc = roc_points(y, probability, settings.curve_points)
    pr = precision_recall_points(y, probability, settings.curve_points)
    calibration = calibration_points(y, probability, settings.calibration_bins)

    write_json(metrics, paths.EVALUATE_METRICS)
    write_json(slices, paths.SLICE_METRICS)
    write_json(roc, paths.plot_data("roc.json"))
    write_json(pr, paths.plot_data("precision_recall.json"))
    write_json(calibration, paths.plot_data("calibration.json"))
    write_json(importance, paths.plot_data("importance.json"))
    write_csv(confusion_rows(y, predicted), paths.plot_data("confusion.csv"))
    write_parquet(pd.DataFrame({"prediction": predicted, "probability": probability}), paths.TEST_PREDICTIONS)

    figures.roc_figure({"model": roc}, paths.figure("roc"))
    figures.precision_recall_figure({"model": pr}, metrics["positive_rate"], paths.figure("precision_recall"))
    figures.calibration_figure({"model": calibration}, paths.figure("calibration"))
    figures.confusion_figure(metrics["confusion"], paths.figure("confusion"))
    figures.importance_figure({"model": importance}, paths.figure("importance"))
    logger.info(
        "test roc_auc %.4f, f1 %.4f at threshold %.3f; %s",
        metrics["roc_auc"], metrics["f1"], threshold, metrics["diagnosis"]["verdict"],
    )


if __name__ == "__main__":
    run_stage(main)
