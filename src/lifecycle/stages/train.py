"""train: cross-validate, choose the decision threshold (binary), fit, and log training curves."""

from __future__ import annotations

import logging

import numpy as np
from dvclive import Live

from lifecycle import paths
from lifecycle.evaluation import figures
from lifecycle.training.calibration import apply_calibrator, CalibratedModel, fit_calibrator
from lifecycle.config import TrainSettings, load_params
from lifecycle.errors import LifecycleError
from lifecycle.metrics.binary import threshold_metrics
from lifecycle.training.cross_validation import cross_validation, CrossValidation, cv_splitter, TaskSpec
from lifecycle.training.fitting import fit_model, FitResult
from lifecycle.training.learning_curve import learning_curve
from lifecycle.stages.runner import run_stage
from lifecycle.storage import read_json, read_parquet, write_joblib, write_json
from lifecycle.tasks import DEFAULT_METRIC, model_scores, score_metrics
from lifecycle.training.thresholds import choose_threshold

logger = logging.getLogger(__name__)


def log_curves(result: FitResult) -> None:
    """Per-iteration curves to DVCLive; dvc.yaml declares its files (dvcyaml=False)."""
    with Live(dir=str(paths.TRAIN_LIVE_DIR), dvcyaml=False, save_dvc_exp=False) as live:
        for step in range(max(len(curve) for curve in result.curves.values())):
            for name, curve in result.curves.items():
                if step < len(curve):
                    live.log_metric(name, curve[step])
            live.next_step()


def binary_decision(
    cv: CrossValidation, y: np.ndarray, settings: TrainSettings
) -> tuple[object | None, dict[str, object]]:
    """The calibrator (or None) and the decision threshold, both from out-of-fold predictions."""
    oof, oof_y = cv.oof[cv.validated], y[cv.validated]
    calibrator = None
    if settings.calibration != "none":
        calibrator = fit_calibrator(oof, oof_y, settings.calibration)
        oof = apply_calibrator(calibrator, oof)
    threshold = choose_threshold(oof_y, oof, settings.decision_threshold)
    return calibrator, {
        "rule": settings.decision_threshold.rule,
        "calibration": settings.calibration,
        "validation": threshold_metrics(oof_y, oof, threshold),
    }


def main() -> None:
    settings = load_params().train
    roles = read_json(paths.FEATURE_ROLES)
    spec = TaskSpec(roles["task"], roles["classes"])
    if spec.task != "binary" and settings.calibration != "none":
        raise LifecycleError(f"train.calibration {settings.calibration!r} applies to binary tasks only; set it to none")
    metric = DEFAULT_METRIC[spec.task]  # the learning curve's; evaluate's diagnosis picks its own
    train = read_parquet(paths.FEATURES_TRAIN)
    X, y = train.drop(columns=roles["target"]), train[roles["target"]]
    categorical = roles["categorical_outputs"]
    splitter = cv_splitter(roles["split"], settings.cv_folds, settings.seed, spec.task)

    cv = cross_validation(X, y, settings, categorical, splitter, spec)
    logger.info("%s task; cv validation %s %.4f", spec.task, metric, cv.summary[f"validation_{metric}"]["mean"])
    result = fit_model(X, y, settings, categorical, spec.task)
    log_curves(result)
    model = result.model
    summary: dict[str, object] = {"task": spec.task, "cv": cv.summary}
    if spec.task == "binary":
        calibrator, summary["threshold"] = binary_decision(cv, y.to_numpy(), settings)
        model = model if calibrator is None else CalibratedModel(model, calibrator)
        logger.info("decision threshold %.4f", summary["threshold"]["validation"]["threshold"])
    write_joblib(model, paths.MODEL)

    curve = learning_curve(X, y, settings, categorical, splitter, metric, spec)
    write_json(curve, paths.LEARNING_CURVE)
    figures.learning_curve_figure({"model": curve}, metric, paths.figure("learning_curve", paths.TRAIN_FIGURES_DIR))
    fitted = score_metrics(spec.task, y.to_numpy(), model_scores(model, X, spec.task, spec.classes), spec.classes)
    summary["fit"] = {
        **{f"train_{k}": v for k, v in fitted.items()},
        "rows": int(len(X)),
        "features": int(X.shape[1]),
        "iterations": int(getattr(result.model, "n_iter_", 1)),
    }
    write_json(
        {key: summary[key] for key in ("task", "cv", "fit", "threshold") if key in summary},
        paths.TRAIN_METRICS,
    )


if __name__ == "__main__":
    run_stage(main)
