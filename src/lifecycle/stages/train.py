"""train: cross-validate, choose the decision threshold, fit, and log training curves."""

from __future__ import annotations

import logging

import numpy as np
from dvclive import Live

from lifecycle import figures, paths
from lifecycle.calibration import CalibratedModel, apply_calibrator, fit_calibrator
from lifecycle.config import load_params
from lifecycle.evaluation import score_metrics, threshold_metrics
from lifecycle.models import FitResult, cross_validation, cv_splitter, fit_model, learning_curve
from lifecycle.stages import run_stage
from lifecycle.storage import read_json, read_parquet, write_joblib, write_json
from lifecycle.thresholds import choose_threshold

logger = logging.getLogger(__name__)


def log_curves(result: FitResult) -> None:
    """Per-iteration curves to DVCLive; dvc.yaml declares its files (dvcyaml=False)."""
    with Live(dir=str(paths.TRAIN_LIVE_DIR), dvcyaml=False, save_dvc_exp=False) as live:
        for step in range(max(len(curve) for curve in result.curves.values())):
            for name, curve in result.curves.items():
                if step < len(curve):
                    live.log_metric(name, curve[step])
            live.next_step()


def main() -> None:
    settings = load_params().train
    roles = read_json(paths.FEATURE_ROLES)
    train = read_parquet(paths.FEATURES_TRAIN)
    X, y = train.drop(columns=roles["target"]), train[roles["target"]]
    categorical = roles["categorical_outputs"]
    splitter = cv_splitter(roles["split"], settings.cv_folds, settings.seed)

    cv = cross_validation(X, y, settings, categorical, splitter)
    validated = ~np.isnan(cv.oof_probability)
    oof, oof_y = cv.oof_probability[validated], y.to_numpy()[validated]
    calibrator = None
    if settings.calibration != "none":
        calibrator = fit_calibrator(oof, oof_y, settings.calibration)
        oof = apply_calibrator(calibrator, oof)
    threshold = choose_threshold(oof_y, oof, settings.decision_threshold)
    logger.info("cv validation roc_auc %.4f; threshold %.4f", cv.summary["validation_roc_auc"]["mean"], threshold)

    result = fit_model(X, y, settings, categorical)
    log_curves(result)
    model = result.model if calibrator is None else CalibratedModel(result.model, calibrator)
    write_joblib(model, paths.MODEL)

    curve = learning_curve(X, y, settings, categorical, splitter)
    write_json(curve, paths.LEARNING_CURVE)
    figures.learning_curve_figure({"model": curve}, "roc_auc", paths.figure("learning_curve", paths.TRAIN_FIGURES_DIR))
    write_json(
        {
            "cv": cv.summary,
            "fit": {
                **{f"train_{k}": v for k, v in score_metrics(y.to_numpy(), model.predict_proba(X)[:, 1]).items()},
                "rows": int(len(X)),
                "features": int(X.shape[1]),
                "iterations": int(getattr(result.model, "n_iter_", 1)),
            },
            "threshold": {
                "rule": settings.decision_threshold.rule,
                "calibration": settings.calibration,
                "validation": threshold_metrics(oof_y, oof, threshold),
            },
        },
        paths.TRAIN_METRICS,
    )


if __name__ == "__main__":
    run_stage(main)
