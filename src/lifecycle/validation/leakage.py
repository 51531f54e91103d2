"""The leakage check, and the single-feature scores it reads: how well each column alone
predicts the target.

A column that predicts the target almost perfectly on its own is usually the target in
disguise (a copy, a re-encoding, a value recorded after the outcome). Each feature column
is scored by a shallow decision tree, cross-validated on a deterministic sample: balanced
accuracy for classification, R² for regression. Pure functions, no IO.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from lifecycle.config import ValidationSettings
from lifecycle.metrics.rounding import rounded
from lifecycle.preprocessing.roles import FEATURE_ROLES
from lifecycle.preprocessing.tables import Columns
from lifecycle.validation.base import Findings, Skipped, Table, check

LEAKAGE_FOLDS = 3
LEAKAGE_MAX_DEPTH = 6
# The best single-feature scores the report keeps, so near misses show.
TOP_SCORES = 10


@check("error")
def leakage(table: Table, findings: Findings) -> None:
    """one column alone predicts the target almost perfectly (cross-validated balanced accuracy
    or R² of a depth-6 tree ≥ `max_single_feature_score`, 0.98): if it is known only after the
    outcome, list it in `preprocess.outcome_columns`; if it is genuinely available at
    prediction time, set its severity to warning

    On a deterministic sample (seed `validation.seed`) of at most `validation.leakage_rows`
    labelled rows, each feature column alone is scored by 3-fold shuffled cross-validation
    (stratified for classification) of a decision tree (max_depth 6, seeded): categoricals
    coded by sorted text, datetimes as seconds since the epoch, booleans as 0/1, missing
    values as a sentinel below every value. Classes with fewer than 3 sampled rows are left
    out. `value` = the score. It catches the label copied or re-encoded into a feature, not
    a merely strong after-the-fact proxy (on the flights sample, dep_delay alone scores
    about 0.81): such columns belong in `preprocess.outcome_columns`.
    """
    task = table.require_task()
    settings = table.settings
    scores, reason = single_feature_scores(table.frame, table.label, task.classification, table.role_of, settings)
    findings.details["single_feature_scores"] = scores[:TOP_SCORES]
    if reason is not None:
        raise Skipped(reason)
    metric = "balanced accuracy" if task.classification else "R²"
    for entry in scores:
        if entry["score"] < settings.max_single_feature_score:
            break
        column = entry["column"]
        findings.fail(
            column,
            f"column {column!r} alone predicts the target with cross-validated {metric} "
            f"{entry['score']:.4f} (at least validation.max_single_feature_score "
            f"{settings.max_single_feature_score}), a likely leak: if it is known only after the "
            "outcome, list it in preprocess.outcome_columns; if it is genuinely available at "
            "prediction time, set validation.severity.leakage: warning",
            value=entry["score"],
            threshold=settings.max_single_feature_score,
        )


def score_name(classification: bool) -> str:
    """The metric the scores are in: balanced_accuracy (classification) or r2."""
    return "balanced_accuracy" if classification else "r2"


def single_feature_scores(
    frame: Columns,
    label: pd.Series,
    classification: bool,
    role_of: dict[str, str],
    settings: ValidationSettings,
) -> tuple[list[dict[str, object]], str | None]:
    """Every feature column's cross-validated score alone, best first; and why none, if so."""
    positions = np.flatnonzero(label.notna().to_numpy())
    if len(positions) > settings.leakage_rows:
        rng = np.random.default_rng(settings.seed)
        positions = np.sort(rng.choice(positions, size=settings.leakage_rows, replace=False))
    target = label.iloc[positions]
    if classification:
        text = target.map(str)
        counts = text.value_counts()
        keep = text.isin(counts[counts >= LEAKAGE_FOLDS].index).to_numpy()
        positions, text = positions[keep], text[keep]
        if text.nunique() < 2:
            return [], "fewer than two classes with 3 labelled rows to cross-validate"
        y = pd.factorize(text, sort=True)[0]
        folds = StratifiedKFold(LEAKAGE_FOLDS, shuffle=True, random_state=settings.seed)
        model = DecisionTreeClassifier(max_depth=LEAKAGE_MAX_DEPTH, random_state=settings.seed)
    else:
        y = pd.to_numeric(target, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(y).any() or len(y) < 2 * LEAKAGE_FOLDS:
            return [], "the regression target is not numeric or has too few rows"
        folds = KFold(LEAKAGE_FOLDS, shuffle=True, random_state=settings.seed)
        model = DecisionTreeRegressor(max_depth=LEAKAGE_MAX_DEPTH, random_state=settings.seed)
    scoring = score_name(classification)
    scores = []
    for column in frame.columns:
        name = str(column)
        if role_of[name] not in FEATURE_ROLES:
            continue
        x = encode_column(frame[column].iloc[positions])
        if x is None:
            continue
        with warnings.catch_warnings():
            # a fold may lack a class the tree predicts; the score is still the right one
            warnings.simplefilter("ignore", UserWarning)
            score = cross_val_score(model, x.reshape(-1, 1), y, cv=folds, scoring=scoring).mean()
        scores.append({"column": name, "score": rounded(score)})
    scores.sort(key=lambda s: (-s["score"], s["column"]))
    return scores, None


def encode_column(series: pd.Series) -> np.ndarray | None:
    """One column as finite floats for a tree, missing values as a sentinel; None if constant."""
    if pd.api.types.is_datetime64_any_dtype(series):
        epoch = pd.Timestamp(0, tz="UTC") if series.dt.tz is not None else pd.Timestamp(0)
        x = ((series - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype="float64", na_value=np.nan, copy=True)
    elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        x = series.astype("Float64").to_numpy(dtype="float64", na_value=np.nan, copy=True)
    else:  # categorical: codes of the values' text in sorted order
        present = series.notna().to_numpy()
        x = np.full(len(series), np.nan)
        x[present] = pd.Categorical(series[present].map(str)).codes
    finite = x[np.isfinite(x)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    x[np.isposinf(x)] = high + 1
    x[np.isneginf(x)] = low - 1
    x[np.isnan(x)] = low - 2
    return x if np.unique(x).size > 1 else None
