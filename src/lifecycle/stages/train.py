"""train: cross-validate, choose the decision threshold (binary), fit, and log training curves."""

from __future__ import annotations

import logging

import numpy as np
from dvclive import Live

from lifecycle import paths
from lifecycle.artifacts import ChosenModel, FeatureRoles, SearchResult, TrainMetrics
from lifecycle.config import TrainSettings, load_params
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import figures
from lifecycle.stages.runner import run_stage
from lifecycle.storage import write_joblib, write_json
from lifecycle.tasks.registry import task_named
from lifecycle.training.calibration import CalibratedModel
from lifecycle.training.cross_validation import ModelSpec, cross_validation, cv_splitter
from lifecycle.training.families import family_settings
from lifecycle.training.fitting import FitResult, fit_model, loss_rows, training_rows
from lifecycle.training.learnability import constant_warnings, leaf_warnings, prior_score
from lifecycle.training.learning_curve import learning_curve
from lifecycle.training.thresholds import decision_from_folds

logger = logging.getLogger(__name__)


def log_curves(result: FitResult) -> None:
    """The fit's curves to DVCLive: the final values (metrics.json) and one table of the loss
    per iteration, train and validation side by side (plots/custom/training_curve.json).

    One file of one shape for every family and task, so dvc.yaml draws it as one chart with
    a title of its own; dvc.yaml declares DVCLive's files itself (dvcyaml=False).
    """
    with Live(dir=str(paths.TRAIN_LIVE_DIR), dvcyaml=False, save_dvc_exp=False) as live:
        for name, curve in result.curves.items():
            live.log_metric(name, curve[-1], plot=False)
        live.log_plot("training_curve", loss_rows(result.curves), x="step", y=["train", "validation"])


def chosen_settings(settings: TrainSettings) -> tuple[TrainSettings, str]:
    """The settings to fit: the search's choice over the params when it ran, else the params."""
    search = SearchResult.read(paths.SEARCH_RESULT)
    if not search.enabled or search.best is None:
        return settings, "params"
    logger.info("fitting the search's choice: %s %s", search.best.family, search.best.params)
    return family_settings(settings, search.best.family, search.best.params), "search"


def main() -> None:
    settings, chosen_by = chosen_settings(load_params().train)
    roles = FeatureRoles.read(paths.FEATURE_ROLES)
    task, classes = task_named(roles.task), roles.classes
    if not task.decision_threshold and settings.calibration != "none":
        raise LifecycleError(f"train.calibration {settings.calibration!r} applies to binary tasks only; set it to none")
    metric = task.default_metric  # the learning curve's; evaluate's diagnosis picks its own
    train = training_rows(paths.FEATURES_TRAIN, settings)
    X, y = train.drop(columns=roles.target), train[roles.target]
    splitter = cv_splitter(roles.split, settings.cv_folds, settings.seed, task)

    spec = ModelSpec(settings, roles.categorical_outputs, task, classes)
    cv = cross_validation(X, y, spec, splitter)
    score = cv.summary[f"validation_{metric}"]["mean"]
    logger.info("%s task; cv validation %s %.4f", task.name, metric, score)
    smallest_fold = min(len(rows) for rows, _ in splitter.split(X, y))
    warnings = [
        *leaf_warnings(settings, smallest_fold),
        *constant_warnings(settings, metric, score, prior_score(X, y, task, classes, splitter)),
    ]
    for warning in warnings:
        logger.warning("%s", warning)
    sampled = "" if settings.max_rows is None else f" (a seeded sample: train.max_rows {settings.max_rows:,})"
    logger.info("fitting %s on %s train rows%s", settings.model, f"{len(X):,}", sampled)
    result = fit_model(X, y, settings, roles.categorical_outputs, task)
    log_curves(result)
    model, threshold = result.model, None
    if task.decision_threshold:
        calibrator, threshold = decision_from_folds(cv.oof[cv.validated], y.to_numpy()[cv.validated], settings)
        model = model if calibrator is None else CalibratedModel(model, calibrator)
        logger.info("decision threshold %.4f", threshold.threshold)
    write_joblib(model, paths.MODEL)

    logger.info("learning curve: %d training-set sizes", len(settings.learning_curve.fractions))
    curve = learning_curve(X, y, spec, splitter)
    write_json(curve, paths.LEARNING_CURVE)
    figures.learning_curve_figure({"model": curve}, metric, paths.figure("learning_curve", paths.TRAIN_FIGURES_DIR))
    fitted = task.score_metrics(y.to_numpy(), task.model_scores(model, X, classes), classes)
    fit = {
        **{f"train_{k}": v for k, v in fitted.items()},
        "rows": int(len(X)),
        "features": int(X.shape[1]),
        "iterations": int(np.max(getattr(result.model, "n_iter_", 1))),  # per class for a linear model
    }
    family = settings.family_params(settings.model).model_dump(mode="json")
    TrainMetrics(
        task=task.name,
        model=ChosenModel(family=settings.model, params=family),
        chosen_by=chosen_by,
        cv=cv.summary,
        fit=fit,
        threshold=threshold,
        warnings=warnings,
    ).write(paths.TRAIN_METRICS)


if __name__ == "__main__":
    run_stage(main)
