"""search: choose the model family and hyper-parameters by cross-validation on the train split.

Off unless `search.enabled`: the stage then records that nothing was searched, and train
fits `train.model` with the params as written. It reads the `search` section alone, so a
change of `train` never reruns it.
"""

from __future__ import annotations

import logging

from lifecycle import paths
from lifecycle.artifacts import ChosenModel, FeatureRoles, MeanStd, SearchResult
from lifecycle.config import TrainSettings, load_params
from lifecycle.sampling import read_sample
from lifecycle.stages.runner import run_stage
from lifecycle.storage import write_json
from lifecycle.tasks.registry import task_named
from lifecycle.training.cross_validation import ModelSpec, cv_splitter
from lifecycle.training.search import Trial, run_search

logger = logging.getLogger(__name__)


def log_trial(trial: Trial, best: Trial | None, seconds: float) -> None:
    """One line per trial: the progress of a search that may take minutes."""
    score = "n/a" if trial.mean is None else f"{trial.mean:.4f} ± {trial.std or 0:.4f}"
    leader = "" if best is None else f"; best so far trial {best.number} ({best.family}, {best.mean:.4f})"
    failure = f": {trial.error}" if trial.error else ""
    logger.info(
        "trial %d %s %s %s in %.1f s%s%s", trial.number, trial.family, trial.state, score, seconds, failure, leader
    )


def main() -> None:
    params = load_params()
    search = params.search
    if not search.enabled:
        SearchResult(enabled=False).write(paths.SEARCH_RESULT)
        write_json([], paths.SEARCH_TRIALS)
        logger.info("search is off (search.enabled): train fits train.model as params set it")
        return
    roles = FeatureRoles.read(paths.FEATURE_ROLES)
    task = task_named(roles.task)
    train = read_sample(paths.FEATURES_TRAIN, search.max_rows, search.seed)
    X, y = train.drop(columns=roles.target), train[roles.target]
    splitter = cv_splitter(roles.split, search.cv_folds, search.seed, task)
    base = ModelSpec(TrainSettings(seed=search.seed), roles.categorical_outputs, task, roles.classes)
    logger.info(
        "search: %d trials over %s, %s by cross-validation on %s train rows (search.max_rows: %s)",
        search.trials,
        search.families,
        task.default_metric,
        f"{len(X):,}",
        search.max_rows,
    )
    outcome = run_search(X, y, base, splitter, search, on_trial=log_trial)
    best = outcome.best
    ended = {state: sum(t.state == state for t in outcome.trials) for state in ("complete", "pruned", "failed")}
    SearchResult(
        enabled=True,
        metric=outcome.metric,
        trials=ended,
        best=ChosenModel(family=best.family, params=best.params),
        best_trial=best.number,
        score=MeanStd(mean=best.mean, std=best.std),
        rows=len(X),
    ).write(paths.SEARCH_RESULT)
    write_json([t.as_json() for t in outcome.trials], paths.SEARCH_TRIALS)
    logger.info("search chose %s %s: %s %.4f ± %.4f", best.family, best.params, outcome.metric, best.mean, best.std)


if __name__ == "__main__":
    run_stage(main)
