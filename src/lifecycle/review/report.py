"""`python -m lifecycle report`: the review of the workspace against a base revision.

The base's metrics, params and plot data are read from git at the base revision (they
are git-tracked, `cache: false`), the workspace's from disk, so the base curves really
are the base's. Writes Markdown, a JSON twin for machines, and overlaid PNGs.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import yaml

from lifecycle import paths
from lifecycle.config import ReportSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation import figures
from lifecycle.review.comparison import Change, Gate, compare, cv_noise, gate, render, slice_regressions
from lifecycle.storage import write_json, write_text
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY
from lifecycle.tasks.registry import task_named

logger = logging.getLogger(__name__)

# Plot data files (metrics/plots/<name>.json) the review can overlay; empty where a task has none.
PLOT_DATA = ("roc", "precision_recall", "calibration", "importance", "predictions", "residual_histogram")


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise LifecycleError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def default_base(branch: str) -> str:
    """The merge base of HEAD with `branch` (what a pull request is compared against)."""
    return _git("merge-base", "HEAD", branch).strip()


def read_at(revision: str | None, path: Path) -> str | None:
    """A file's text at a git revision (None: the workspace); None if it does not exist."""
    if revision is None:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    done = subprocess.run(["git", "show", f"{revision}:{path.as_posix()}"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def _json_at(revision: str | None, path: Path, empty: Any) -> Any:
    text = read_at(revision, path)
    return empty if text is None else json.loads(text)


class Side:
    """The files of one side of the comparison."""

    def __init__(self, revision: str | None) -> None:
        self.evaluate = _json_at(revision, paths.EVALUATE_METRICS, {})
        self.train = _json_at(revision, paths.TRAIN_METRICS, {})
        self.slices = _json_at(revision, paths.SLICE_METRICS, {})
        self.learning_curve = _json_at(revision, paths.LEARNING_CURVE, [])
        self.search = _json_at(revision, paths.SEARCH_RESULT, {})
        self.trials = _json_at(revision, paths.SEARCH_TRIALS, [])
        self.plots = {name: _json_at(revision, paths.plot_data(f"{name}.json"), []) for name in PLOT_DATA}
        params_text = read_at(revision, paths.PARAMS)
        self.params = yaml.safe_load(params_text) if params_text else {}

    @property
    def task(self) -> Task:
        """The task train recorded (binary before tasks existed)."""
        name = self.train.get("task", BINARY.name)
        try:
            return task_named(name)
        except LifecycleError as error:
            raise LifecycleError(f"{paths.TRAIN_METRICS}: {error}") from None

    @property
    def model(self) -> dict[str, str]:
        """The fitted model as the review shows it: family, who chose it, the search, warnings."""
        model = self.train.get("model") or {}
        search = self.search
        searched = "off"
        if search.get("enabled"):
            ended = ", ".join(f"{n} {state}" for state, n in search["trials"].items() if n)
            searched = f"{sum(search['trials'].values())} trials ({ended}); best {search['score']['mean']:.4f}"
        return {
            "family": model.get("family", "—"),
            "chosen by": self.train.get("chosen_by", "params"),
            "search": searched,
            "warnings": "<br>".join(self.train.get("warnings", [])) or "none",
        }

    @property
    def worst_slices(self) -> dict[str, dict[str, Any]]:
        """The worst slices by rank ("1" first); slices.json lists them in rank order, and kept
        them keyed by rank before it did (a base revision may still)."""
        worst = self.slices.get("worst", [])
        return {str(rank): entry for rank, entry in enumerate(worst, start=1)} if isinstance(worst, list) else worst

    @property
    def slices_ranked_by(self) -> str:
        """The metric slices.json ranks its worst slices by (ROC-AUC before it said so)."""
        return self.slices.get("ranked_by", "roc_auc")


def _overlay_figures(base: Side, workspace: Side, folder: Path) -> list[Path]:
    """Base and workspace plots of the workspace's task on shared axes.

    A figure is drawn only for plot data that exists on at least one side: a task writes
    only its own plot files (regression has no ROC curve, multiclass only importance).
    The learning curve's axis is the workspace task's metric.
    """

    def series(name: str) -> dict[str, list[dict[str, float]]]:
        return {
            label: side.plots[name] for label, side in (("base", base), ("workspace", workspace)) if side.plots[name]
        }

    # figure -> (its plot data, how it is drawn)
    overlays = {
        "roc": ("roc", figures.roc_figure),
        "precision_recall": (
            "precision_recall",
            lambda s, t: figures.precision_recall_figure(s, workspace.evaluate.get("positive_rate", 0.0), t),
        ),
        "calibration": ("calibration", figures.calibration_figure),
        "importance": ("importance", figures.importance_figure),
        "predicted_vs_actual": ("predictions", figures.predicted_vs_actual_figure),
        "residual_histogram": ("residual_histogram", figures.residual_histogram_figure),
    }
    written = []
    for name in workspace.task.review_figures:
        data_name, draw = overlays[name]
        if data := series(data_name):
            draw(data, folder / f"{name}.png")
            written.append(folder / f"{name}.png")
    curves = {
        label: side.learning_curve for label, side in (("base", base), ("workspace", workspace)) if side.learning_curve
    }
    metric = workspace.task.default_metric
    if curves:
        figures.learning_curve_figure(curves, metric, folder / "learning_curve.png")
        written.append(folder / "learning_curve.png")
    if searches := {label: side.trials for label, side in (("base", base), ("workspace", workspace)) if side.trials}:
        figures.search_figure(searches, metric, folder / "search.png")
        written.append(folder / "search.png")
    return written


def _as_json(change: Change) -> dict[str, Any]:
    return {
        "file": change.file,
        "key": change.key,
        "old": change.old,
        "new": change.new,
        "diff": change.diff,
        "relative": change.relative,
        "verdict": change.verdict,
    }


def write_report(base: str, settings: ReportSettings, output: Path) -> Gate:
    """Compare `base` with the workspace; write `output` (Markdown), its .json twin and PNGs."""
    base_side, workspace = Side(base), Side(None)
    if not workspace.evaluate:
        raise LifecycleError(f"{paths.EVALUATE_METRICS} not found: run `dvc repro` before the report")
    task = workspace.task
    headline_names = task.review_metrics()
    noise = cv_noise(workspace.train)
    evaluate = compare(
        base_side.evaluate, workspace.evaluate, str(paths.EVALUATE_METRICS), changed_only=False, noise=noise
    )
    headline = [c for c in evaluate if c.key in headline_names]
    other = [c for c in evaluate if c.key not in headline_names and c.old != c.new]
    other += compare(base_side.train, workspace.train, str(paths.TRAIN_METRICS))
    params = compare(base_side.params, workspace.params, str(paths.PARAMS))
    metric = task.main_metric(settings.main_metric, "report.main_metric")
    result = gate(base_side.evaluate, workspace.evaluate, metric, settings.tolerance, settings.allow_overfit)
    folder = output.with_suffix("")
    written = _overlay_figures(base_side, workspace, folder)
    label = _git("rev-parse", "--short", base).strip()
    markdown = render(
        base_label=label,
        gate_result=result,
        headline=headline,
        other_metrics=other,
        params=params,
        diagnosis=(base_side.evaluate.get("diagnosis", {}), workspace.evaluate.get("diagnosis", {})),
        model=(base_side.model, workspace.model),
        worst_slices=(base_side.worst_slices, workspace.worst_slices),
        figures=[f"{folder.name}/{p.name}" for p in written],
        ranked_by=(base_side.slices_ranked_by, workspace.slices_ranked_by),
        regressed_slices=slice_regressions(
            base_side.slices, workspace.slices, settings.slice_min_rows, settings.slice_tolerance
        ),
    )
    write_text(markdown, output)
    write_json(
        {
            "base": label,
            "task": task.name,
            "gate": {
                "metric": result.metric,
                "old": result.old,
                "new": result.new,
                "tolerance": result.tolerance,
                "verdicts": {"base": result.verdicts[0], "workspace": result.verdicts[1]},
                "became_overfit": result.became_overfit,
                "passed": result.passed,
            },
            "metrics": [_as_json(c) for c in headline + other],
            "params": [_as_json(c) for c in params],
        },
        output.with_suffix(".json"),
    )
    logger.info("review of %s written to %s: %s", label, output, "passed" if result.passed else "FAILED")
    return result
