"""Test-set metrics and plot data for multiclass classification. Pure functions, no IO.

`probability` is always an (n, k) matrix whose columns follow `classes`, the fitted
estimator's `classes_` (strings or numbers): that order, not a sorted one, is what
`predict_proba` returns. Labels become strings wherever they are JSON keys or plot
values, so the files read the same whatever the label type.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

from lifecycle.metrics.rounding import rounded

# The headline scores of a multiclass classifier, in the order reports and the model card list them.
HEADLINE_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "precision_weighted",
    "recall_weighted",
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
    "log_loss",
)
# Which way each metric improves.
HIGHER_IS_BETTER = frozenset(HEADLINE_METRICS) - {"log_loss"}
LOWER_IS_BETTER = frozenset({"log_loss"})


# Precision, recall and F1 are reported macro- and support-weighted-averaged over classes.
AVERAGED_SCORES = (("f1", f1_score), ("precision", precision_score), ("recall", recall_score))


def predicted_labels(probability: np.ndarray, classes: Sequence) -> np.ndarray:
    """The most probable class of each row (ties go to the first column, as `predict` does)."""
    return np.asarray(classes)[np.argmax(np.asarray(probability), axis=1)]


def _check_labels(y_true: np.ndarray, probability: np.ndarray, classes: Sequence) -> None:
    """Fail with a readable message rather than deep inside scikit-learn."""
    if probability.ndim != 2 or probability.shape != (len(y_true), len(classes)):
        raise ValueError(
            f"probability has shape {probability.shape}; expected ({len(y_true)}, {len(classes)}),"
            " one row per example and one column per class"
        )
    unknown = sorted(str(v) for v in set(pd.unique(y_true)) - set(classes))
    if unknown:
        raise ValueError(f"y_true holds labels the model has no column for: {unknown}")


def one_vs_rest_auc(y_true: np.ndarray, probability: np.ndarray, classes: Sequence) -> dict[str, float]:
    """ROC-AUC of each class against the rest, averaged unweighted and by support.

    Computed per class here because scikit-learn's `multi_class="ovr"` refuses a y_true that
    lacks one of the columns' classes, which a small cross-validation fold or a rare class
    easily does. A class absent from y_true has no positives, so its AUC is undefined: it is
    skipped (it would get zero weight by support anyway). Columns are not renormalised: each
    class's AUC only ranks its own column. With at least two classes in y_true every present
    class has positives and negatives, so at least two AUCs are always averaged; with a
    single class there is nothing to rank and, like the binary `roc_auc_score`, it raises.
    """
    aucs, supports = [], []
    for column, label in enumerate(classes):
        positive = y_true == label
        if positive.any() and not positive.all():
            aucs.append(roc_auc_score(positive, probability[:, column]))
            supports.append(int(positive.sum()))
    if not aucs:
        raise ValueError("ROC-AUC is undefined when y_true holds a single class")
    return {
        "roc_auc_ovr": rounded(np.mean(aucs)),
        "roc_auc_ovr_weighted": rounded(np.average(aucs, weights=supports)),
    }


def _log_loss(y_true: np.ndarray, probability: np.ndarray, classes: Sequence) -> float:
    """Log loss told every class, so a fold lacking some still scores.

    scikit-learn's log_loss takes the columns to be in sorted label order whatever
    `labels` says; `classes` need not be sorted, so the columns are put in that order first.
    """
    order = np.argsort(np.asarray(classes), kind="stable")
    return rounded(log_loss(y_true, probability[:, order], labels=list(np.asarray(classes)[order])))


def score_metrics(y_true: np.ndarray, probability: np.ndarray, classes: Sequence) -> dict[str, float]:
    """The numeric headline scores (exactly HEADLINE_METRICS): what cross-validation averages.

    Macro and weighted precision/recall/F1 average over the labels found in y_true or the
    predictions, as scikit-learn's scorers of the same name do, so cross-validated numbers
    match `cross_validate(scoring="f1_macro")`; a class nobody has nor predicts is not
    counted as a zero. Balanced accuracy is the mean recall over the classes in y_true
    (scikit-learn's definition), computed so that a fold lacking a class does not warn.
    """
    y_true = np.asarray(y_true)
    probability = np.asarray(probability, dtype=float)
    _check_labels(y_true, probability, classes)
    predicted = predicted_labels(probability, classes)
    present = [c for c in classes if (y_true == c).any()]
    averaged = {
        f"{name}_{average}": rounded(score(y_true, predicted, average=average, zero_division=0))
        for average in ("macro", "weighted")
        for name, score in AVERAGED_SCORES
    }
    scores = {
        "accuracy": rounded(accuracy_score(y_true, predicted)),
        "balanced_accuracy": rounded(recall_score(y_true, predicted, labels=present, average="macro", zero_division=0)),
        **averaged,
        **one_vs_rest_auc(y_true, probability, classes),
        "log_loss": _log_loss(y_true, probability, classes),
    }
    return {name: scores[name] for name in HEADLINE_METRICS}


def test_metrics(y_true: np.ndarray, probability: np.ndarray, classes: Sequence) -> dict[str, object]:
    """Headline scores plus what a reader needs to interpret them: rows, and per class its
    share of the test rows, precision, recall, F1 and support, and the confusion matrix.

    The per-class detail is a list of rows, one per class of the model (even one absent
    from the test set, support 0): `dvc metrics show` and `dvc exp show` list headline
    numbers only, not 5 columns per class, and the file still diffs line by line in git.
    """
    y_true = np.asarray(y_true)
    probability = np.asarray(probability, dtype=float)
    scores = score_metrics(y_true, probability, classes)
    predicted = predicted_labels(probability, classes)
    labels = list(classes)
    names = [str(c) for c in labels]
    precision, recall, f1, support = precision_recall_fscore_support(y_true, predicted, labels=labels, zero_division=0)
    return {
        **scores,
        "rows": int(len(y_true)),
        "per_class": [
            {
                "class": name,
                "share": rounded(np.mean(y_true == label)),
                "precision": rounded(precision[i]),
                "recall": rounded(recall[i]),
                "f1": rounded(f1[i]),
                "support": int(support[i]),
            }
            for i, (name, label) in enumerate(zip(names, labels))
        ],
        "confusion": {
            "labels": names,
            "matrix": confusion_matrix(y_true, predicted, labels=labels).astype(int).tolist(),
        },
    }


# pytest would otherwise collect `test_metrics` from any test module that imports it.
test_metrics.__test__ = False  # type: ignore[attr-defined]


def confusion_rows(y_true: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """One row per test example, labels as strings: the shape DVC's confusion template
    aggregates, and the same label spelling as the `confusion` metrics."""
    return pd.DataFrame(
        {
            "actual": [str(v) for v in np.asarray(y_true)],
            "predicted": [str(v) for v in np.asarray(predicted)],
        }
    )
