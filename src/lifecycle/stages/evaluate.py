"""evaluate: test-set metrics, plot data for `dvc plots`, PNGs, and the test predictions."""

from __future__ import annotations

import logging

import pandas as pd

from lifecycle import figures, paths
from lifecycle.config import load_params
from lifecycle.evaluation import (
    calibration_points,
    classification_metrics,
    confusion_rows,
    precision_recall_points,
    raw_column_importance,
    roc_points,
)
from lifecycle.inference import inference_pipeline
from lifecycle.stages import run_stage
from lifecycle.storage import read_joblib, read_json, read_parquet, write_csv, write_json, write_parquet

logger = logging.getLogger(__name__)


def main() -> None:
    settings = load_params().evaluate
    roles = read_json(paths.FEATURE_ROLES)
    target = roles["target"]
    model = read_joblib(paths.MODEL)
    test = read_parquet(paths.FEATURES_TEST)
    y = test[target].to_numpy()
    probability = model.predict_proba(test.drop(columns=target))[:, 1]
    predicted = (probability >= settings.threshold).astype(int)

    metrics = classification_metrics(y, probability, settings.threshold)
    roc = roc_points(y, probability, settings.curve_points)
    pr = precision_recall_points(y, probability, settings.curve_points)
    calibration = calibration_points(y, probability, settings.calibration_bins)

    raw_test = read_parquet(paths.INTERIM_TEST)
    sample = raw_test.sample(n=min(settings.importance_rows, len(raw_test)), random_state=settings.seed)
    pipeline = inference_pipeline(read_joblib(paths.FEATURIZER), model)
    importance = raw_column_importance(
        pipeline, sample[roles["inputs"]], sample[target].to_numpy(), settings.importance_repeats, settings.seed
    )

    write_json(metrics, paths.EVALUATE_METRICS)
    write_json(roc, paths.plot_data("roc.json"))
    write_json(pr, paths.plot_data("precision_recall.json"))
    write_json(calibration, paths.plot_data("calibration.json"))
    write_json(importance, paths.plot_data("importance.json"))
    write_csv(confusion_rows(y, predicted), paths.plot_data("confusion.csv"))
    write_parquet(pd.DataFrame({"prediction": predicted, "probability": probability}), paths.TEST_PREDICTIONS)

    figures.roc_figure(roc, metrics["roc_auc"], paths.figure("roc"))
    figures.precision_recall_figure(pr, metrics["average_precision"], metrics["positive_rate"], paths.figure("precision_recall"))
    figures.calibration_figure(calibration, paths.figure("calibration"))
    figures.confusion_figure(metrics["confusion"], paths.figure("confusion"))
    figures.importance_figure(importance, paths.figure("importance"))
    logger.info("test roc_auc %.4f, f1 %.4f on %d rows", metrics["roc_auc"], metrics["f1"], len(y))


if __name__ == "__main__":
    run_stage(main)
