"""Multiclass metrics, plot data and the confusion figure on a real model of scikit-learn's
bundled wine data (three cultivars), checked against independent computations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle.evaluation import figures
from lifecycle.metrics.multiclass import HEADLINE_METRICS, confusion_rows, predicted_labels, score_metrics
from lifecycle.metrics.multiclass import test_metrics as multiclass_test_metrics

# Two of the thirteen measurements: the model is good but not perfect, so every class has
# errors to count and the checks below are not trivially satisfied by a diagonal matrix.
FEATURES = ["alcohol", "color_intensity"]


@dataclass
class Fitted:
    X_test: pd.DataFrame
    y_test: np.ndarray  # cultivar names, strings
    probability: np.ndarray
    classes: np.ndarray
    model: object


def fit_wine(labels_as_names: bool) -> Fitted:
    wine = load_wine(as_frame=True)
    target = wine.target.to_numpy()
    y = wine.target_names[target] if labels_as_names else target
    X_train, X_test, y_train, y_test = train_test_split(
        wine.data[FEATURES], y, test_size=0.4, stratify=y, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    return Fitted(X_test, np.asarray(y_test), model.predict_proba(X_test), model.classes_, model)


@pytest.fixture(scope="module")
def wine() -> Fitted:
    return fit_wine(labels_as_names=True)


@pytest.fixture(scope="module")
def metrics(wine: Fitted) -> dict[str, object]:
    return multiclass_test_metrics(wine.y_test, wine.probability, wine.classes)


def without_class(wine: Fitted, label: str) -> tuple[np.ndarray, np.ndarray]:
    """The test rows of every other class: a validation fold that lacks `label`."""
    keep = wine.y_test != label
    return wine.y_test[keep], wine.probability[keep]


# --- predicted_labels / score_metrics ----------------------------------------------------


def test_predicted_labels_are_what_the_model_predicts(wine: Fitted) -> None:
    predicted = predicted_labels(wine.probability, wine.classes)
    assert predicted.tolist() == wine.model.predict(wine.X_test).tolist()


def test_score_metrics_are_exactly_the_headline_scores(wine: Fitted) -> None:
    scores = score_metrics(wine.y_test, wine.probability, wine.classes)
    assert tuple(scores) == HEADLINE_METRICS
    assert all(type(value) is float for value in scores.values())
    accuracy = scores["accuracy"]
    assert 0.7 < accuracy < 0.95  # a real, imperfect model: the comparisons below mean something


def test_score_metrics_match_sklearn(wine: Fitted) -> None:
    y, probability, classes = wine.y_test, wine.probability, wine.classes
    predicted = wine.model.predict(wine.X_test)
    expected = {
        "accuracy": accuracy_score(y, predicted),
        "balanced_accuracy": balanced_accuracy_score(y, predicted),
        "f1_macro": f1_score(y, predicted, average="macro"),
        "f1_weighted": f1_score(y, predicted, average="weighted"),
        "precision_macro": precision_score(y, predicted, average="macro"),
        "recall_macro": recall_score(y, predicted, average="macro"),
        "precision_weighted": precision_score(y, predicted, average="weighted"),
        "recall_weighted": recall_score(y, predicted, average="weighted"),
        "roc_auc_ovr": roc_auc_score(y, probability, multi_class="ovr", labels=classes),
        "roc_auc_ovr_weighted": roc_auc_score(y, probability, multi_class="ovr", average="weighted", labels=classes),
        "log_loss": log_loss(y, probability, labels=classes),
    }
    scores = score_metrics(y, probability, classes)
    assert scores == {name: round(value, 6) for name, value in expected.items()}
    assert scores["recall_weighted"] == scores["accuracy"]  # support-weighted recall is accuracy


def test_column_order_follows_classes_not_sorting(wine: Fitted) -> None:
    """The same probabilities with columns (and classes) reversed score the same."""
    reversed_scores = score_metrics(wine.y_test, wine.probability[:, ::-1], wine.classes[::-1])
    assert reversed_scores == score_metrics(wine.y_test, wine.probability, wine.classes)


def test_a_fold_missing_a_class_still_scores(wine: Fitted) -> None:
    y, probability = without_class(wine, "class_2")
    scores = score_metrics(y, probability, wine.classes)
    assert tuple(scores) == HEADLINE_METRICS
    assert all(np.isfinite(list(scores.values())))
    # log loss still reads all three columns
    assert scores["log_loss"] == round(log_loss(y, probability, labels=wine.classes), 6)
    # one-vs-rest AUC of each present class from the Mann-Whitney U statistic, independently
    aucs, supports = [], []
    for column, label in enumerate(wine.classes[:2]):
        positive = y == label
        u = mannwhitneyu(probability[positive, column], probability[~positive, column]).statistic
        aucs.append(u / (positive.sum() * (~positive).sum()))
        supports.append(positive.sum())
    assert scores["roc_auc_ovr"] == round(float(np.mean(aucs)), 6)
    assert scores["roc_auc_ovr_weighted"] == round(float(np.average(aucs, weights=supports)), 6)
    # balanced accuracy averages recall over the classes the fold has, as sklearn does
    predicted = predicted_labels(probability, wine.classes)
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected = balanced_accuracy_score(y, predicted)
    assert scores["balanced_accuracy"] == round(expected, 6)
    assert scores["f1_macro"] == round(f1_score(y, predicted, average="macro", zero_division=0), 6)


def test_a_single_class_cannot_be_ranked(wine: Fitted) -> None:
    keep = wine.y_test == "class_0"
    with pytest.raises(ValueError, match="single class"):
        score_metrics(wine.y_test[keep], wine.probability[keep], wine.classes)


def test_labels_and_shapes_are_checked(wine: Fitted) -> None:
    with pytest.raises(ValueError, match="no column for"):
        score_metrics(wine.y_test, wine.probability[:, :2], wine.classes[:2])
    with pytest.raises(ValueError, match="shape"):
        score_metrics(wine.y_test, wine.probability[:, :2], wine.classes)


# --- test_metrics -------------------------------------------------------------------------


def test_test_metrics_extend_the_scores(wine: Fitted, metrics: dict[str, object]) -> None:
    scores = score_metrics(wine.y_test, wine.probability, wine.classes)
    assert {name: metrics[name] for name in HEADLINE_METRICS} == scores
    assert set(metrics) == set(HEADLINE_METRICS) | {"rows", "per_class", "confusion"}
    assert metrics["rows"] == len(wine.y_test)
    assert json.loads(json.dumps(metrics)) == metrics  # plain JSON types only


def by_class(metrics: dict[str, object]) -> dict[str, dict[str, object]]:
    return {row["class"]: row for row in metrics["per_class"]}


def test_class_share_is_each_label_s_frequency(wine: Fitted, metrics: dict[str, object]) -> None:
    counts = pd.Series(wine.y_test).value_counts(normalize=True)
    assert {c: row["share"] for c, row in by_class(metrics).items()} == {
        str(c): round(counts[c], 6) for c in wine.classes
    }
    assert sum(row["share"] for row in metrics["per_class"]) == pytest.approx(1.0, abs=1e-5)


def test_per_class_matches_the_classification_report(wine: Fitted, metrics: dict[str, object]) -> None:
    predicted = wine.model.predict(wine.X_test)
    report = classification_report(wine.y_test, predicted, output_dict=True, zero_division=0)
    for label in wine.classes:
        ours, theirs = by_class(metrics)[label], report[label]
        assert {k: v for k, v in ours.items() if k not in ("class", "share")} == {
            "precision": round(theirs["precision"], 6),
            "recall": round(theirs["recall"], 6),
            "f1": round(theirs["f1-score"], 6),
            "support": int(theirs["support"]),
        }
    assert sum(c["support"] for c in metrics["per_class"]) == metrics["rows"]
    macro_f1 = np.mean([c["f1"] for c in metrics["per_class"]])
    assert macro_f1 == pytest.approx(metrics["f1_macro"], abs=1e-6)


def test_confusion_matrix_rows_are_actual(wine: Fitted, metrics: dict[str, object]) -> None:
    confusion = metrics["confusion"]
    matrix = np.array(confusion["matrix"])
    assert confusion["labels"] == ["class_0", "class_1", "class_2"]
    assert matrix.sum() == metrics["rows"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert matrix.sum(axis=1).tolist() == [by_class(metrics)[c]["support"] for c in wine.classes]
    predicted = wine.model.predict(wine.X_test)
    assert matrix.tolist() == confusion_matrix(wine.y_test, predicted, labels=wine.classes).tolist()
    assert (matrix - np.diag(np.diag(matrix))).sum() > 0  # the model makes mistakes to count


def test_test_metrics_keep_a_missing_class(wine: Fitted) -> None:
    """Every class keeps its keys when the test rows lack it, so metric diffs line up."""
    y, probability = without_class(wine, "class_2")
    metrics = multiclass_test_metrics(y, probability, wine.classes)
    assert by_class(metrics)["class_2"]["share"] == 0.0
    assert by_class(metrics)["class_2"]["support"] == 0
    assert np.array(metrics["confusion"]["matrix"])[2].sum() == 0
    assert np.array(metrics["confusion"]["matrix"]).sum() == metrics["rows"] == len(y)


def test_integer_labels_become_string_keys() -> None:
    fitted = fit_wine(labels_as_names=False)
    metrics = multiclass_test_metrics(fitted.y_test, fitted.probability, fitted.classes)
    assert [row["class"] for row in metrics["per_class"]] == ["0", "1", "2"]
    assert metrics["confusion"]["labels"] == ["0", "1", "2"]
    named = multiclass_test_metrics(*_named(fitted))
    assert named["confusion"]["matrix"] == metrics["confusion"]["matrix"]
    assert {name: named[name] for name in HEADLINE_METRICS} == {name: metrics[name] for name in HEADLINE_METRICS}


def _named(fitted: Fitted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = load_wine().target_names
    return names[fitted.y_test], fitted.probability, names[fitted.classes]


# --- confusion_rows -----------------------------------------------------------------------


def test_confusion_rows_aggregate_to_the_confusion_matrix(wine: Fitted, metrics: dict[str, object]) -> None:
    predicted = predicted_labels(wine.probability, wine.classes)
    rows = confusion_rows(wine.y_test, predicted)
    assert list(rows.columns) == ["actual", "predicted"] and len(rows) == len(wine.y_test)
    labels = metrics["confusion"]["labels"]
    table = pd.crosstab(rows["actual"], rows["predicted"]).reindex(index=labels, columns=labels, fill_value=0)
    assert table.to_numpy().tolist() == metrics["confusion"]["matrix"]


def test_confusion_rows_spell_labels_as_the_metrics_do() -> None:
    fitted = fit_wine(labels_as_names=False)
    rows = confusion_rows(fitted.y_test, predicted_labels(fitted.probability, fitted.classes))
    assert set(rows["actual"]) == {"0", "1", "2"}
    assert all(isinstance(value, str) for value in rows["predicted"])


# --- figures ------------------------------------------------------------------------------


def read_png(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    return height, width


def test_class_confusion_figure(metrics: dict[str, object], tmp_path: Path) -> None:
    target = tmp_path / "figures" / "confusion.png"
    confusion = metrics["confusion"]
    figures.class_confusion_figure(confusion["labels"], confusion["matrix"], target)
    height, width = read_png(target)
    assert (width, height) == (490, 440)  # 4.5 in + 0.4 in per class beyond two, at 100 dpi
    assert [p.name for p in target.parent.iterdir()] == ["confusion.png"]  # no temp file left


def test_binary_confusion_figure_is_the_two_class_case(tmp_path: Path) -> None:
    confusion = {"tn": 1234, "fp": 56, "fn": 789, "tp": 4321}
    figures.confusion_figure(confusion, tmp_path / "binary.png")
    figures.class_confusion_figure(["0", "1"], [[1234, 56], [789, 4321]], tmp_path / "two.png")
    assert read_png(tmp_path / "binary.png") == (400, 450)
    assert (tmp_path / "binary.png").read_bytes() == (tmp_path / "two.png").read_bytes()


def test_counts_on_dark_cells_are_written_in_white(tmp_path: Path) -> None:
    """The largest count sits on the darkest blue: in black it could not be read."""
    figures.confusion_figure({"tn": 38960, "fp": 1593, "fn": 10094, "tp": 3418}, tmp_path / "confusion.png")
    pixels = matplotlib.image.imread(tmp_path / "confusion.png")[..., :3]
    navy = np.abs(pixels - np.array([8, 48, 107]) / 255).max(axis=2) < 0.05  # the top of the Blues scale
    rows, columns = np.nonzero(navy)
    cell = pixels[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    assert (cell.min(axis=2) > 0.9).sum() > 20  # white text inside the dark cell
    assert (cell.max(axis=2) < 0.1).sum() == 0  # and no black
