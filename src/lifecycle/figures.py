"""Matplotlib PNGs of the evaluation plots, for humans and reports (DVC renders the data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from lifecycle.storage import atomic_path  # noqa: E402

Points = list[dict[str, float]]


def _save(target: Path, title: str, draw: Callable[[Axes], None], size: tuple[float, float] = (5, 4.5)) -> None:
    figure, axes = plt.subplots(figsize=size)
    draw(axes)
    axes.set_title(title)
    figure.tight_layout()
    with atomic_path(target) as temp:
        figure.savefig(temp, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)


def roc_figure(points: Points, auc: float, target: Path) -> None:
    def draw(axes: Axes) -> None:
        axes.plot([p["fpr"] for p in points], [p["tpr"] for p in points], label=f"model (AUC {auc:.3f})")
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
        axes.set(xlabel="false positive rate", ylabel="true positive rate")
        axes.legend(loc="lower right")

    _save(target, "ROC curve (test)", draw)


def precision_recall_figure(points: Points, average_precision: float, prevalence: float, target: Path) -> None:
    def draw(axes: Axes) -> None:
        axes.plot([p["recall"] for p in points], [p["precision"] for p in points], label=f"model (AP {average_precision:.3f})")
        axes.axhline(prevalence, linestyle="--", color="grey", label="prevalence")
        axes.set(xlabel="recall", ylabel="precision", ylim=(0, 1))
        axes.legend(loc="upper right")

    _save(target, "Precision-recall (test)", draw)


def calibration_figure(points: Points, target: Path) -> None:
    def draw(axes: Axes) -> None:
        axes.plot([p["mean_predicted"] for p in points], [p["fraction_positive"] for p in points], marker="o", label="model")
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        axes.set(xlabel="mean predicted probability", ylabel="observed positive rate")
        axes.legend(loc="upper left")

    _save(target, "Calibration (test)", draw)


def confusion_figure(confusion: dict[str, int], target: Path) -> None:
    matrix = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]

    def draw(axes: Axes) -> None:
        axes.imshow(matrix, cmap="Blues")
        for row in range(2):
            for column in range(2):
                axes.text(column, row, f"{matrix[row][column]:,}", ha="center", va="center")
        axes.set(xticks=[0, 1], yticks=[0, 1], xlabel="predicted", ylabel="actual")

    _save(target, "Confusion matrix (test)", draw, size=(4.5, 4))


def importance_figure(importance: list[dict[str, float | str]], target: Path, top: int = 20) -> None:
    shown = importance[:top][::-1]

    def draw(axes: Axes) -> None:
        axes.barh([str(p["feature"]) for p in shown], [float(p["importance"]) for p in shown], xerr=[float(p["std"]) for p in shown])
        axes.set(xlabel="drop in ROC-AUC when shuffled")

    _save(target, "Permutation importance (test)", draw, size=(6, 6))
