"""train: fit the configured model on the train features, cross-validate, log curves."""

from __future__ import annotations

import logging

from dvclive import Live
from sklearn.metrics import roc_auc_score

from lifecycle import paths
from lifecycle.config import load_params
from lifecycle.models import cross_validation, fit_model
from lifecycle.stages import run_stage
from lifecycle.storage import read_json, read_parquet, write_joblib, write_json

logger = logging.getLogger(__name__)


def main() -> None:
    settings = load_params().train
    roles = read_json(paths.FEATURE_ROLES)
    train = read_parquet(paths.FEATURES_TRAIN)
    X, y = train.drop(columns=roles["target"]), train[roles["target"]]
    categorical = roles["categorical_outputs"]
    cv = cross_validation(X, y, settings, categorical)
    logger.info("cv validation roc_auc %.4f ± %.4f", cv["validation_roc_auc"]["mean"], cv["validation_roc_auc"]["std"])
    result = fit_model(X, y, settings, categorical)
    with Live(dir=str(paths.TRAIN_LIVE_DIR), dvcyaml=False, save_dvc_exp=False) as live:
        for step in range(max(len(curve) for curve in result.curves.values())):
            for name, curve in result.curves.items():
                if step < len(curve):
                    live.log_metric(name, curve[step])
            live.next_step()
    write_joblib(result.model, paths.MODEL)
    train_auc = roc_auc_score(y, result.model.predict_proba(X)[:, 1])
    write_json(
        {
            "cv": cv,
            "fit": {"train_roc_auc": round(float(train_auc), 6), "rows": int(len(X)), "features": int(X.shape[1])},
            "iterations": int(getattr(result.model, "n_iter_", 1)),
        },
        paths.TRAIN_METRICS,
    )


if __name__ == "__main__":
    run_stage(main)
