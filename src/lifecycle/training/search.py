"""Model selection: which family and hyper-parameters to train, chosen by cross-validation.

Optuna drives the search: a seeded TPE sampler (a model of which regions score well, so
a budget of tens of trials goes further than a grid or random draws over five families'
conditional spaces) and a median pruner (a trial whose first folds score below the median
of earlier trials at the same fold stops there). Each trial is scored by the train
stage's kind of cross-validation (`fit_fold` on folds time-ordered for a time split,
stratified otherwise), on the train split only. The first trials are each family with its
defaults (scikit-learn's), so the search never ends below their cross-validated score.

The budget is a number of trials, and trials run one after another with seeded models,
so two runs give the same trials, the same choice and the same `dvc.lock`. Fit times go
to the log only: they differ between runs and would break that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from pydantic import ValidationError
from sklearn.model_selection import BaseCrossValidator

from lifecycle.config import Choices, Dimension, SearchSettings, TrainSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.rounding import rounded
from lifecycle.tasks.base import Task
from lifecycle.training.cross_validation import ModelSpec, fit_fold
from lifecycle.training.families import family_settings

logger = logging.getLogger(__name__)

# Leaf-size hyper-parameters: their upper bound is cut to what the smallest training fold
# can split (a leaf larger than a quarter of the rows leaves a tree a stump or two).
LEAF_SIZES = ("min_samples_leaf",)
# Trials the pruner lets finish before it compares any trial with the median, and the folds
# every trial runs before it can be pruned (one fold's score alone is too noisy to judge).
UNPRUNED_TRIALS = 5
UNPRUNED_FOLDS = 2


@dataclass(frozen=True)
class Trial:
    """One trial: its family and sampled hyper-parameters, and how it ended."""

    number: int
    family: str
    params: dict[str, Any]
    state: str  # complete | pruned | failed
    folds: int  # the cross-validation folds it ran: fewer than all when pruned or failed
    mean: float | None = None
    std: float | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return {
            "trial": self.number,
            "family": self.family,
            "params": shown,
            "state": self.state,
            "folds": self.folds,
            "score": self.mean,
            "std": self.std,
        }


@dataclass(frozen=True)
class SearchOutcome:
    """Every trial, and the best complete one (the highest mean, the earliest on a tie)."""

    metric: str
    trials: list[Trial]
    best: Trial


def _leaf_bounded(key: str, dimension: Dimension, smallest_fold: int) -> Dimension:
    """A leaf-size range cut to a quarter of the smallest training fold (never below its low)."""
    if key not in LEAF_SIZES or isinstance(dimension, Choices) or not dimension.integer:
        return dimension
    high = max(int(dimension.low) + 1, min(int(dimension.high), smallest_fold // 4))
    return dimension.model_copy(update={"high": high})


def _suggest(trial: optuna.Trial, name: str, dimension: Dimension) -> Any:
    if isinstance(dimension, Choices):
        return trial.suggest_categorical(name, dimension.choices)
    if dimension.integer:
        return trial.suggest_int(name, int(dimension.low), int(dimension.high), log=dimension.log)
    return trial.suggest_float(name, float(dimension.low), float(dimension.high), log=dimension.log)


def _first_trials(
    settings: TrainSettings, search: SearchSettings, spaces: dict[str, dict[str, Dimension]]
) -> list[dict[str, Any]]:
    """Each family with its values in `settings` (where they lie in the space)."""
    first = []
    for family in search.families:
        current = settings.family_params(family).model_dump()
        values: dict[str, Any] = {"family": family}
        for key, dimension in spaces[family].items():
            value = current[key]
            if isinstance(dimension, Choices):
                fits = value in dimension.choices
            else:
                fits = isinstance(value, int | float) and dimension.low <= value <= dimension.high
            if fits:
                values[f"{family}.{key}"] = value
        first.append(values)
    return first


def run_search(
    X: pd.DataFrame,
    y: pd.Series,
    base: ModelSpec,
    splitter: BaseCrossValidator,
    search: SearchSettings,
    on_trial: Callable[[Trial, Trial | None, float], None] = lambda trial, best, seconds: None,
) -> SearchOutcome:
    """Search `search.families` and their spaces for the best cross-validated default metric of
    `base.task`; `base.settings` gives every hyper-parameter the search does not vary (and the
    seed); the best trial's `params` are all of its family's, not only the varied ones.
    `on_trial(trial, best so far, seconds)` hears of every trial as it ends (the stage logs it)."""
    task: Task = base.task
    metric = task.default_metric
    folds = list(splitter.split(X, y))
    smallest = min(len(train_rows) for train_rows, _ in folds)
    spaces = {
        family: {key: _leaf_bounded(key, dimension, smallest) for key, dimension in search.space(family).items()}
        for family in search.families
    }
    trials: list[Trial] = []

    def objective(trial: optuna.Trial) -> float:
        family = trial.suggest_categorical("family", search.families)
        sampled = {key: _suggest(trial, f"{family}.{key}", dimension) for key, dimension in spaces[family].items()}
        scores: list[float] = []
        try:
            spec = ModelSpec(family_settings(base.settings, family, sampled), base.categorical, task, base.classes)
            for step, (train_rows, validation_rows) in enumerate(folds):
                scores.append(fit_fold(X, y, spec, train_rows, validation_rows).validation[metric])
                trial.report(float(np.mean(scores)), step)
                if search.pruning and step < len(folds) - 1 and trial.should_prune():
                    raise optuna.TrialPruned()
        except optuna.TrialPruned:
            raise
        except (ValidationError, ValueError, ArithmeticError) as error:  # this trial's model failed: the next
            trial.set_user_attr("error", f"{type(error).__name__}: {error}")
            raise
        finally:
            trial.set_user_attr("std", float(np.std(scores)) if scores else None)
        return float(np.mean(scores))

    def record(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        params = {k.split(".", 1)[1]: v for k, v in frozen.params.items() if k != "family"}
        state = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(frozen.state.name, "failed")
        steps = frozen.intermediate_values  # a pruned trial's score: the mean of the folds it ran
        value = frozen.value if state == "complete" else steps[max(steps)] if steps else None
        std = frozen.user_attrs.get("std")
        trial = Trial(
            frozen.number,
            frozen.params["family"],
            params,
            state,
            len(frozen.intermediate_values),
            None if value is None else rounded(value),
            None if std is None else rounded(std),
            frozen.user_attrs.get("error"),
        )
        trials.append(trial)
        completed = [t for t in trials if t.state == "complete"]
        on_trial(trial, _best(completed) if completed else None, frozen.duration.total_seconds())

    sampler = optuna.samplers.TPESampler(seed=search.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=UNPRUNED_TRIALS, n_warmup_steps=UNPRUNED_FOLDS - 1)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    for values in _first_trials(base.settings, search, spaces)[: search.trials]:
        study.enqueue_trial(values, skip_if_exists=True)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial is logged by `on_trial`, failures too
    study.optimize(
        objective, n_trials=search.trials, callbacks=[record], catch=(ValidationError, ValueError, ArithmeticError)
    )
    completed = [t for t in trials if t.state == "complete"]
    if not completed:
        first = next((t.error for t in trials if t.error), "every trial was pruned")
        raise LifecycleError(f"search: every one of the {len(trials)} trials failed; the first: {first}")
    best = _best(completed)
    chosen = family_settings(base.settings, best.family, best.params).family_params(best.family).model_dump(mode="json")
    return SearchOutcome(metric, trials, replace(best, params=chosen))


def _best(completed: list[Trial]) -> Trial:
    """The highest mean score; on a tie the earliest trial."""
    return max(completed, key=lambda t: (t.mean, -t.number))
