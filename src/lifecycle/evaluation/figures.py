"""Matplotlib PNGs of the evaluation plots, for humans and reports (DVC renders the data).

Every figure takes `series`: a label -> points mapping. The evaluate stage draws one
series ("model"); the review report overlays "base" and "workspace" on the same axes.

Matplotlib is imported when the first figure is drawn, not with this module: every task
refers to its figures, and loading a task (preprocess, a bundle in the service or the
batch predict command) must not pay half a second for a plotting library it never uses.
Figures are drawn on `Figure` objects, without pyplot's global state or a GUI backend.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lifecycle.storage import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Points = list[dict[str, float]]
Series = dict[str, Points]


def save_figure(target: Path, title: str, draw: Callable[[Axes], None], size: tuple[float, float] = (5, 4.5)) -> None:
    """Draw one titled chart and write it as a PNG, atomically and byte-reproducibly (no
    software tag). Every PNG of the project goes through here (evaluation, review, monitor)."""
    from matplotlib.figure import Figure  # on first use: see the module docstring

    figure = Figure(figsize=size)
    axes = figure.subplots()
    draw(axes)
    axes.set_title(title)
    figure.tight_layout()
    with atomic_path(target) as temp:
        figure.savefig(temp, format="png", dpi=100, metadata={"Software": None})


def _lines(series: Series, x: str, y: str, marker: str | None = None) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        for label, points in series.items():
            axes.plot([p[x] for p in points], [p[y] for p in points], marker=marker, label=label)

    return draw


def roc_figure(series: Series, target: Path) -> None:
    def draw(axes: Axes) -> None:
        _lines(series, "fpr", "tpr")(axes)
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
        axes.set(xlabel="false positive rate", ylabel="true positive rate")
        axes.legend(loc="lower right")

    save_figure(target, "ROC curve (test)", draw)


def precision_recall_figure(series: Series, prevalence: float, target: Path) -> None:
    def draw(axes: Axes) -> None:
        _lines(series, "recall", "precision")(axes)
        axes.axhline(prevalence, linestyle="--", color="grey", label="prevalence")
        axes.set(xlabel="recall", ylabel="precision", ylim=(0, 1))
        axes.legend(loc="upper right")

    save_figure(target, "Precision-recall (test)", draw)


def calibration_figure(series: Series, target: Path) -> None:
    def draw(axes: Axes) -> None:
        _lines(series, "mean_predicted", "fraction_positive", marker="o")(axes)
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        axes.set(xlabel="mean predicted probability", ylabel="observed positive rate")
        axes.legend(loc="upper left")

    save_figure(target, "Calibration (test)", draw)


def learning_curve_figure(series: Series, metric: str, target: Path) -> None:
    def draw(axes: Axes) -> None:
        for label, points in series.items():
            sizes = [p["train_size"] for p in points]
            line = axes.plot(sizes, [p["validation_score"] for p in points], marker="o", label=f"{label} validation")
            axes.plot(
                sizes,
                [p["train_score"] for p in points],
                marker="o",
                linestyle="--",
                color=line[0].get_color(),
                label=f"{label} train",
            )
        sizes = sorted({p["train_size"] for points in series.values() for p in points})
        axes.set(xlabel="training rows", ylabel=metric, xscale="log")
        axes.set_xticks(sizes, labels=[f"{size:,}" for size in sizes])  # the sizes fitted, not powers of ten
        axes.minorticks_off()
        axes.legend(loc="best")  # where it covers the fewest points: train and validation lines can lie anywhere

    save_figure(target, "Learning curve (cross-validation)", draw)


def search_figure(series: dict[str, list[dict[str, object]]], metric: str, target: Path) -> None:
    """Each trial of a model search by its number: its cross-validated score (a pruned
    trial hollow, at the mean of the folds it ran), and the best score so far."""

    def draw(axes: Axes) -> None:
        for label, trials in series.items():
            scored = [t for t in trials if t["score"] is not None]
            complete = [t for t in scored if t["state"] == "complete"]
            best = np.maximum.accumulate([t["score"] for t in complete]) if complete else []
            line = axes.step([t["trial"] for t in complete], best, where="post", label=f"{label}: best so far")
            color = line[0].get_color()
            axes.scatter([t["trial"] for t in complete], [t["score"] for t in complete], s=14, color=color)
            pruned = [t for t in scored if t["state"] == "pruned"]
            axes.scatter(
                [t["trial"] for t in pruned],
                [t["score"] for t in pruned],
                s=14,
                facecolors="none",
                edgecolors=color,
                label=f"{label}: pruned" if pruned else None,
            )
        axes.set(xlabel="trial", ylabel=f"cross-validated {metric}")
        axes.legend(loc="lower right")

    save_figure(target, "Model search (train split)", draw)


def confusion_figure(confusion: dict[str, int], target: Path) -> None:
    """The binary confusion counts (tn/fp/fn/tp) as a 2x2 matrix: rows actual, columns predicted."""
    matrix = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    class_confusion_figure(["0", "1"], matrix, target)


def class_confusion_figure(labels: list[str], matrix: list[list[int]], target: Path) -> None:
    """A k x k heatmap of counts, rows actual and columns predicted, in the order of `labels`.

    Counts are written in the cells because colour alone cannot tell 3 from 30, in white on
    the darker half of the scale (as scikit-learn's ConfusionMatrixDisplay does) so that a
    large count stays readable on dark blue. The figure grows with k (up to a limit) so that
    the tick labels and counts stay legible.
    """
    k = len(labels)
    counts = np.asarray(matrix, dtype=int).reshape(k, k)
    side = min(4.5 + 0.4 * max(k - 2, 0), 12.0)
    dark = (counts.max() + counts.min()) / 2

    def draw(axes: Axes) -> None:
        axes.imshow(counts, cmap="Blues")
        for row in range(k):
            for column in range(k):
                colour = "white" if counts[row, column] > dark else "black"
                axes.text(column, row, f"{counts[row, column]:,}", ha="center", va="center", color=colour)
        axes.set(xlabel="predicted", ylabel="actual")
        if k > 4:  # long or many labels would overlap
            axes.set_xticks(range(k), labels, rotation=45, ha="right", rotation_mode="anchor")
        else:
            axes.set_xticks(range(k), labels)
        axes.set_yticks(range(k), labels)

    save_figure(target, "Confusion matrix (test)", draw, size=(side, side - 0.5))


def predicted_vs_actual_figure(series: Series, target: Path) -> None:
    """Predicted against actual per series, with the y = x line a perfect model would lie on."""

    def draw(axes: Axes) -> None:
        values = []
        for label, points in series.items():
            actual, predicted = [p["actual"] for p in points], [p["predicted"] for p in points]
            axes.scatter(actual, predicted, s=8, alpha=0.5, label=label)
            values += actual + predicted
        if values:
            low, high = min(values), max(values)
            axes.plot([low, high], [low, high], linestyle="--", color="grey", label="perfect")
        axes.set(xlabel="actual", ylabel="predicted")
        axes.legend(loc="upper left")

    save_figure(target, "Predicted vs actual (test)", draw)


def residuals_figure(series: Series, target: Path) -> None:
    """Residual (actual - predicted) against predicted per series, with the zero line:
    a trend or a funnel shape shows bias or error that grows with the prediction."""

    def draw(axes: Axes) -> None:
        for label, points in series.items():
            predicted, residual = [p["predicted"] for p in points], [p["residual"] for p in points]
            axes.scatter(predicted, residual, s=8, alpha=0.5, label=label)
        axes.axhline(0, linestyle="--", color="grey", label="zero")
        axes.set(xlabel="predicted", ylabel="residual (actual - predicted)")
        axes.legend(loc="upper right")

    save_figure(target, "Residuals (test)", draw)


def residual_histogram_figure(series: Series, target: Path) -> None:
    """Count of residuals per bin, one step outline per series so overlaid series stay
    readable (series may have different bins: each is drawn on its own edges)."""

    def draw(axes: Axes) -> None:
        for label, points in series.items():
            if points:
                edges = [p["left"] for p in points] + [points[-1]["right"]]
                axes.stairs([p["count"] for p in points], edges, label=label, linewidth=1.5)
        axes.axvline(0, linestyle="--", color="grey", label="zero")
        axes.set(xlabel="residual (actual - predicted)", ylabel="rows")
        axes.legend(loc="upper right")

    save_figure(target, "Residual distribution (test)", draw)


def importance_figure(series: Series, target: Path, top: int = 20) -> None:
    """Horizontal bars of the `top` features of the last (newest) series, one bar per series."""
    newest = list(series.values())[-1]
    features = [str(p["feature"]) for p in newest[:top]][::-1]
    height = 0.8 / len(series)

    def draw(axes: Axes) -> None:
        positions = np.arange(len(features))
        for index, (label, points) in enumerate(series.items()):
            value = {str(p["feature"]): float(p["importance"]) for p in points}
            axes.barh(positions + index * height, [value.get(f, 0.0) for f in features], height=height, label=label)
        axes.set_yticks(positions + height * (len(series) - 1) / 2, features)
        axes.set(xlabel="drop in ROC-AUC when shuffled")
        axes.legend(loc="lower right")

    save_figure(target, "Permutation importance (test)", draw, size=(6, 6))
