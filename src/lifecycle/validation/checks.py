"""Checks of the joined table before anything is split or fitted. Pure functions, no IO.

The preprocess stage joins the sources, infers the task and every column's role, then
calls `validate_table`. It writes the report to metrics/validation.json and
`summary_markdown` to a readable file, then calls `raise_on_errors`, which stops the
pipeline when any check failed with severity `error`. Warnings are reported and the
run continues. Every check has a default severity (`DEFAULT_SEVERITY`);
`validation.severity.<check>` overrides it: `error`, `warning`, or `off` (the check is
skipped entirely, not even computed).

A *feature column* below is one whose role is numeric, categorical, boolean or
datetime (a column missing from the roles gets the role its dtype implies); target,
outcome, identifier, text, constant and drop columns are never features. A column's
*kind* is read from its pandas dtype as the packaged schema reads it: boolean,
numeric, datetime, else categorical.

Checks, default severity, and exact rule (each failed check reports a `value` and,
where one applies, the `threshold` it was compared with):

- `missing_column` (error): a column listed in `validation.columns` is absent from the
  table; the target column (`preprocess.target.column`) being absent is reported here
  too, naming it as the target. Close spellings are suggested.
- `dtype` (error): a column listed in `validation.columns` with a `kind` has another kind.
- `mixed_types` (error): a text (object or string dtype) column holding values of
  several kinds. (a) Python values of different types in one column (numbers and
  text, booleans and text, ...: what JSON, SQL or API sources give); int and float
  count as one kind, numbers. (b) All values are text (what a CSV gives) and *more
  than half* of the non-null values look like numbers (optional sign, digits, optional
  decimals and exponent, surrounding spaces allowed) while the others do not, such as
  "n/a" or "12 kg". A column where at most half the values look like numbers is
  categorical (codes such as "A7", "12", "B3"), not mixed. `value` = how many values
  are not numbers; the message gives up to 3 of them, most frequent first. Not
  checked: outcome columns, category dtype columns, and columns whose role is set in
  `preprocess.roles` (declaring `categorical` there is how a user says "this is text").
- `target_missing_values` (warning): some rows have no target value (preprocess drops
  and counts them); `value` = their share. When *every* row lacks one (or the table has
  no rows) the check is always an error, whatever its configured severity, unless off.
- `target_constant` (error): the target has a single distinct value; `value` = 1.
- `missing_values` (warning): a feature column's missing share is above
  `validation.max_missing_share` (empty columns are reported by `empty_column` instead).
- `empty_column` (warning): any column but the target has no value in any row (it will
  be dropped).
- `duplicates` (warning): the share of rows identical in every column to an earlier row
  is above `validation.max_duplicate_share`.
- `class_balance` (warning): classification; one or more classes make up less than
  `validation.min_class_share` of the labelled rows; `value` = the smallest share.
- `rare_class` (error): classification; one or more classes have fewer than
  `validation.min_class_rows` labelled rows, too few to split and cross-validate;
  `value` = the smallest count.
- `out_of_range` (error): a column with `min` and/or `max` in `validation.columns` has
  values below the min or above the max (one check per side; values that are not
  numbers are left to `mixed_types`); `value` = the most extreme such value,
  `threshold` = the bound; the message counts them.
- `unexpected_category` (warning): a column with `categories` in `validation.columns` has
  other values (a value matches when it or its text equals a listed category's);
  `value` = how many rows hold them; the message gives up to 3, most frequent first.
- `leakage` (error): a single feature column predicts the target almost perfectly on its
  own. On a deterministic sample (seed `validation.seed`) of at most `validation.leakage_rows`
  labelled rows, each feature column alone is scored by 3-fold shuffled cross-validation
  (stratified for classification) of a decision tree (max_depth 6, seeded):
  categoricals coded by sorted text, datetimes as seconds since the epoch, booleans as
  0/1, missing values as a sentinel below every value. Score: balanced accuracy for
  classification (classes with fewer than 3 sampled rows are left out), R² for
  regression. A score >= `validation.max_single_feature_score` fails; `value` = the score.
  The report keeps the 10 best scores (`single_feature_scores`) so near misses show.
  It catches the label copied or re-encoded into a feature, not a merely strong
  after-the-fact proxy (on the flights sample, dep_delay alone scores about 0.81):
  such columns belong in `preprocess.outcome_columns`.

`class_balance` and `rare_class` apply to classification only. With no target column or
no task, they and `leakage` are skipped and listed, with the reason, under `skipped` in
the report, as is every check set to `off`.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re

import numpy as np
import pandas as pd

from lifecycle.config import ColumnExpectation, ValidationSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.rounding import rounded
from lifecycle.tasks.registry import task_named
from lifecycle.validation.leakage import score_name, single_feature_scores
from lifecycle.preprocessing.roles import DECLARED, FEATURE_ROLES
from lifecycle.packaging.schema import column_kind

DEFAULT_SEVERITY: dict[str, str] = {
    "missing_column": "error",
    "dtype": "error",
    "mixed_types": "error",
    "target_missing_values": "warning",
    "target_constant": "error",
    "missing_values": "warning",
    "empty_column": "warning",
    "duplicates": "warning",
    "class_balance": "warning",
    "rare_class": "error",
    "out_of_range": "error",
    "unexpected_category": "warning",
    "leakage": "error",
}

TOP_SCORES = 10
EXAMPLES = 3

# A number as text: optional sign, digits with optional decimals (or only decimals), an
# optional exponent; surrounding spaces are allowed. "1,234", "12 kg" and "n/a" are not.
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def validate_table(
    frame: pd.DataFrame,
    label: pd.Series | None,
    target_column: str,
    task: str | None,
    roles: dict[str, dict[str, str]],
    settings: ValidationSettings,
    source_duplicates: dict[str, tuple[int, int]] | None = None,
) -> dict[str, object]:
    """Run every check that is not off on the joined table; return the JSON-safe report.

    `label` is the target as it will be learned, aligned with `frame` (missing where the
    source is), or None when the target column is absent. `roles` maps each column to
    {"role", "reason"} (the inferred schema). `source_duplicates` maps each source to
    (exact duplicate rows, rows) counted before preprocess removed them; without it the
    duplicates check counts repeats in `frame`. See the module docstring for the checks.
    """
    classification = task is not None and task_named(task).classification
    if label is not None and len(label) != len(frame):
        raise ValueError(f"label has {len(label)} rows but the table has {len(frame)}")
    severity = {**DEFAULT_SEVERITY, **settings.severity}
    role_of = {str(c): _role(frame[c], str(c), target_column, roles) for c in frame.columns}
    checks: list[dict[str, object]] = []
    skipped: dict[str, str] = {name: "severity off" for name, s in severity.items() if s == "off"}

    def run(name: str) -> bool:
        return severity[name] != "off"

    def fail(name: str, column: str | None, message: str, value=None, threshold=None, level=None):
        checks.append(
            {
                "check": name,
                "severity": level or severity[name],
                "column": column,
                "message": message,
                "value": _number(value),
                "threshold": _number(threshold),
            }
        )

    if run("missing_column"):
        _missing_columns(frame, target_column, settings, fail)
    if run("dtype"):
        _dtypes(frame, settings, fail)
    if run("mixed_types"):
        _mixed_types(frame, roles, role_of, fail)
    if label is not None and run("target_missing_values"):
        _target_missing(label, target_column, fail)
    if label is not None and run("target_constant"):
        _target_constant(label, target_column, fail)
    if run("missing_values"):
        _missing_values(frame, role_of, settings, fail)
    if run("empty_column"):
        _empty_columns(frame, target_column, fail)
    if run("duplicates") and len(frame):
        counted = source_duplicates or {None: (_repeated_rows(frame), len(frame))}
        for source, (repeated, rows) in sorted(counted.items(), key=lambda item: str(item[0])):
            _duplicates(source, repeated, rows, settings, fail)
    for name in ("class_balance", "rare_class"):
        if run(name) and (label is None or task is None):
            skipped[name] = _why_no_task(label)
    if label is not None and classification:
        counts = _class_counts(label)
        if run("class_balance"):
            _class_balance(counts, target_column, settings, fail)
        if run("rare_class"):
            _rare_classes(counts, target_column, settings, fail)
    if run("out_of_range"):
        _out_of_range(frame, settings, fail)
    if run("unexpected_category"):
        _unexpected_categories(frame, settings, fail)
    scores: list[dict[str, object]] = []
    if run("leakage"):
        if label is None or task is None:
            skipped["leakage"] = _why_no_task(label)
        else:
            scores, reason = single_feature_scores(frame, label, classification, role_of, settings)
            if reason is not None:
                skipped["leakage"] = reason
            _leakage(scores, classification, settings, fail)

    checks.sort(
        key=lambda c: (c["severity"] != "error", c["check"], c["column"] or "", c["message"])
    )
    errors = sum(c["severity"] == "error" for c in checks)
    warned = len(checks) - errors
    status = "failed" if errors else "passed with warnings" if warned else "passed"
    return {
        "status": status,
        "rows": int(len(frame)),
        "columns": int(frame.shape[1]),
        "task": task,
        "target": target_column,
        "counts": {"error": errors, "warning": warned},
        "checks": checks,
        "skipped": dict(sorted(skipped.items())),
        "severity": dict(sorted(severity.items())),
        "schema": _schema(frame, role_of, roles),
        "target_summary": _target_summary(label, None if task is None else task_named(task).classification),
        "single_feature_metric": score_name(classification) if run("leakage") and task else None,
        "single_feature_scores": scores[:TOP_SCORES],
    }


def summary_markdown(report: dict[str, object]) -> str:
    """A readable summary: status, every failed check's message, target, best single features."""
    counts = report["counts"]
    lines = [
        "# Data validation",
        "",
        f"**Status: {report['status']}** ({counts['error']} error(s), "
        f"{counts['warning']} warning(s)) "
        f"on {report['rows']} rows and {report['columns']} columns; target `{report['target']}`, "
        f"task {report['task'] or 'unknown'}.",
        "",
    ]
    if report["checks"]:
        lines += ["## Failed checks", ""]
        for check in report["checks"]:
            where = f" (`{check['column']}`)" if check["column"] is not None else ""
            lines.append(f"- **{check['severity']}** `{check['check']}`{where}: {check['message']}")
        lines.append("")
    else:
        lines += ["Every check passed.", ""]
    if report.get("skipped"):
        shown = ", ".join(f"`{name}` ({why})" for name, why in report["skipped"].items())
        lines += [f"Skipped: {shown}.", ""]
    summary = report.get("target_summary") or {}
    if summary:
        lines += ["## Target", ""]
        for key, value in summary.items():
            if key == "classes":
                for name, entry in value.items():
                    lines.append(f"- class `{name}`: {entry['rows']} rows ({entry['share']:.2%})")
            else:
                lines.append(f"- {key}: {value}")
        lines.append("")
    if report.get("single_feature_scores"):
        metric = report.get("single_feature_metric")
        lines += [
            f"## Best single-feature scores ({metric}, cross-validated)",
            "",
            "| column | score |",
            "|---|---|",
        ]
        lines += [
            f"| `{s['column']}` | {s['score']:.4f} |" for s in report["single_feature_scores"]
        ]
        lines.append("")
    return "\n".join(lines)


def raise_on_errors(report: dict[str, object], report_path: str) -> None:
    """Raise `LifecycleError` naming every error (check, column, problem) and `report_path`."""
    errors = [c for c in report["checks"] if c["severity"] == "error"]
    if not errors:
        return
    problems = "; ".join(f"[{c['check']}] {c['message']}" for c in errors)
    raise LifecycleError(
        f"data validation failed with {len(errors)} error(s) (full report: {report_path}): "
        f"{problems}"
    )


# --- the checks -----------------------------------------------------------------------


def _missing_columns(
    frame: pd.DataFrame, target_column: str, settings: ValidationSettings, fail
) -> None:
    present = [str(c) for c in frame.columns]
    if target_column not in present:
        fail(
            "missing_column",
            target_column,
            f"target column {target_column!r} (preprocess.target.column) is absent from the joined "
            f"table{_did_you_mean(target_column, present)}; fix the name or add the column to the "
            "base source",
        )
    for column in sorted(settings.columns):
        if column not in present and column != target_column:
            fail(
                "missing_column",
                column,
                f"column {column!r} is listed in validation.columns but absent from the joined "
                f"table{_did_you_mean(column, present)}; add it to a source or remove it from "
                "validation.columns",
            )


def _dtypes(frame: pd.DataFrame, settings: ValidationSettings, fail) -> None:
    for column, expected in sorted(settings.columns.items()):
        if expected.kind is None or column not in frame.columns:
            continue
        actual = column_kind(frame[column])
        if actual != expected.kind:
            fail(
                "dtype",
                column,
                f"column {column!r} is {actual} (dtype {frame[column].dtype}) but "
                f"validation.columns.{column}.kind expects {expected.kind}; fix the source or "
                f"declare preprocess.roles.{column}: {expected.kind}",
            )


def _mixed_types(frame: pd.DataFrame, roles: dict, role_of: dict[str, str], fail) -> None:
    for column in frame.columns:
        name = str(column)
        series = frame[column]
        declared = roles.get(name, {}).get("reason") == DECLARED
        if not _is_text_dtype(series) or declared or role_of[name] == "outcome":
            continue
        values = series.dropna()
        if values.empty:
            continue
        if isinstance(series.dtype, pd.StringDtype):
            kinds = pd.Series("text", index=values.index)
        else:
            kinds = values.map(_value_kind)
        if kinds.nunique() > 1:
            shares = kinds.value_counts()
            shares = shares.sort_index().sort_values(ascending=False, kind="stable")
            minority = kinds != shares.index[0]
            described = ", ".join(f"{n} {kind}" for kind, n in shares.items())
            fail(
                "mixed_types",
                name,
                f"column {name!r} mixes value types ({described}), e.g. "
                f"{_examples(values[minority])}; make the source write one type per column, or "
                f"declare preprocess.roles.{name}: categorical if it is a category",
                value=int(minority.sum()),
            )
            continue
        if (kinds != "text").any():
            continue
        text = values.astype(str).value_counts()
        numeric = np.array([_NUMBER.fullmatch(v) is not None for v in text.index])
        looks_numeric = int(text[numeric].sum())
        others = text[~numeric]
        if looks_numeric * 2 > len(values) and len(others):
            fail(
                "mixed_types",
                name,
                f"column {name!r} holds numbers as text in {looks_numeric} of {len(values)} "
                "non-missing "
                f"rows, but {int(others.sum())} value(s) are not numbers, e.g. "
                f"{', '.join(repr(v) for v in _most_frequent(others))}; clean them at the source "
                f"(leave a cell empty when the value is missing), or declare "
                f"preprocess.roles.{name}: categorical if it is a category",
                value=int(others.sum()),
            )


def _target_missing(label: pd.Series, target_column: str, fail) -> None:
    missing = int(label.isna().sum())
    rows = len(label)
    if rows == 0 or missing == rows:
        fail(
            "target_missing_values",
            target_column,
            f"target column {target_column!r} has no value in any of the {rows} rows, so there is "
            "nothing to learn; check preprocess.target.column and the source",
            value=1.0,
            level="error",
        )
    elif missing:
        fail(
            "target_missing_values",
            target_column,
            f"target column {target_column!r} is missing in {missing} of {rows} rows "
            f"({missing / rows:.1%}); preprocess drops those rows, so check the source if that is "
            "unexpected",
            value=rounded(missing / rows),
        )


def _target_constant(label: pd.Series, target_column: str, fail) -> None:
    values = label.dropna()
    if not values.empty and values.nunique() == 1:
        fail(
            "target_constant",
            target_column,
            f"the target (column {target_column!r}) has the single value "
            f"{_show(values.iloc[0])} in "
            f"all {len(values)} labelled rows, so there is nothing to learn; check the source and "
            "preprocess.target (column, threshold)",
            value=1,
        )


def _missing_values(
    frame: pd.DataFrame, role_of: dict[str, str], settings: ValidationSettings, fail
) -> None:
    if not len(frame):
        return
    for column in frame.columns:
        name = str(column)
        if role_of[name] not in FEATURE_ROLES:
            continue
        share = float(frame[column].isna().mean())
        if settings.max_missing_share < share < 1:
            fail(
                "missing_values",
                name,
                f"column {name!r} is missing in {share:.1%} of rows, more than "
                f"validation.max_missing_share ({settings.max_missing_share:.1%}); the gaps will be "
                "imputed, so check its source and join, or drop it with "
                f"preprocess.roles.{name}: drop",
                value=rounded(share),
                threshold=settings.max_missing_share,
            )


def _empty_columns(frame: pd.DataFrame, target_column: str, fail) -> None:
    for column in frame.columns:
        name = str(column)
        if name != target_column and len(frame) and frame[column].isna().all():
            fail(
                "empty_column",
                name,
                f"column {name!r} has no value in any of the {len(frame)} rows and will be "
                "dropped; "
                "check the source or the join that should fill it",
                value=1.0,
            )


def _repeated_rows(frame: pd.DataFrame) -> int:
    try:
        return int(frame.duplicated().sum())
    except TypeError:  # unhashable values (lists, dicts from JSON): compare their text
        return int(frame.astype(str).duplicated().sum())


def _duplicates(source: str | None, repeated: int, rows: int, settings: ValidationSettings, fail) -> None:
    share = repeated / rows if rows else 0.0
    if share > settings.max_duplicate_share:
        where = f"source {source!r}: " if source is not None else ""
        fail(
            "duplicates",
            None,
            f"{where}{repeated} of {rows} rows ({share:.1%}) repeat an earlier row exactly, "
            "more than "
            f"validation.max_duplicate_share ({settings.max_duplicate_share:.1%}); preprocess "
            "removes them, but check the source for repeated records, or raise the share if "
            "the repeats are expected",
            value=rounded(share),
            threshold=settings.max_duplicate_share,
        )


def _class_counts(label: pd.Series) -> pd.Series:
    counts = label.dropna().value_counts()
    return counts.sort_index(key=lambda index: index.map(str))


def _class_balance(
    counts: pd.Series, target_column: str, settings: ValidationSettings, fail
) -> None:
    total = int(counts.sum())
    if not total:
        return
    low = counts[counts / total < settings.min_class_share].sort_values(kind="stable")
    if len(low):
        shown = ", ".join(f"{_show(c)} ({n / total:.2%}, {n} rows)" for c, n in low.items())
        fail(
            "class_balance",
            target_column,
            f"the target (column {target_column!r}) has {len(low)} class(es) below "
            f"validation.min_class_share ({settings.min_class_share:.2%}) of the {total} labelled "
            f"rows: {shown}; the model may never predict them, so collect more examples, merge "
            "rare classes, or lower the share",
            value=rounded(low.iloc[0] / total),
            threshold=settings.min_class_share,
        )


def _rare_classes(
    counts: pd.Series, target_column: str, settings: ValidationSettings, fail
) -> None:
    rare = counts[counts < settings.min_class_rows].sort_values(kind="stable")
    if len(rare):
        shown = ", ".join(f"{_show(c)} ({n} rows)" for c, n in rare.items())
        fail(
            "rare_class",
            target_column,
            f"the target (column {target_column!r}) has {len(rare)} class(es) with fewer than "
            f"validation.min_class_rows ({settings.min_class_rows}) rows: {shown}; too few to split "
            "and cross-validate, so collect more examples, merge or remove the class, or lower "
            "validation.min_class_rows",
            value=int(rare.iloc[0]),
            threshold=settings.min_class_rows,
        )


def _out_of_range(frame: pd.DataFrame, settings: ValidationSettings, fail) -> None:
    for column, expected in sorted(settings.columns.items()):
        if column not in frame.columns or (expected.min is None and expected.max is None):
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        for side, bound in (("min", expected.min), ("max", expected.max)):
            if bound is None:
                continue
            outside = numbers[numbers < bound] if side == "min" else numbers[numbers > bound]
            if outside.empty:
                continue
            extreme = outside.min() if side == "min" else outside.max()
            word, which = ("below", "lowest") if side == "min" else ("above", "highest")
            fail(
                "out_of_range",
                column,
                f"column {column!r} has {len(outside)} value(s) {word} "
                f"validation.columns.{column}.{side} "
                f"({_show(bound)}), the {which} {_show(extreme)}; fix them at the source, or widen "
                "the range if they are valid",
                value=extreme,
                threshold=bound,
            )


def _unexpected_categories(frame: pd.DataFrame, settings: ValidationSettings, fail) -> None:
    for column, expected in sorted(settings.columns.items()):
        if column not in frame.columns or expected.categories is None:
            continue
        values = frame[column].dropna()
        bad = [v for v in values.unique() if not _is_expected(v, expected)]
        unexpected = values[values.isin(bad)]
        if unexpected.empty:
            continue
        counts = unexpected.map(_show).value_counts()
        fail(
            "unexpected_category",
            column,
            f"column {column!r} has {len(unexpected)} row(s) holding {len(counts)} value(s) not in "
            f"validation.columns.{column}.categories, e.g. {', '.join(_most_frequent(counts))}; add "
            "them to the list if they are valid, or fix the source",
            value=len(unexpected),
        )


def _leakage(
    scores: list[dict[str, object]], classification: bool, settings: ValidationSettings, fail
) -> None:
    metric = "balanced accuracy" if classification else "R²"
    for entry in scores:
        if entry["score"] < settings.max_single_feature_score:
            break
        column = entry["column"]
        fail(
            "leakage",
            column,
            f"column {column!r} alone predicts the target with cross-validated {metric} "
            f"{entry['score']:.4f} (at least validation.max_single_feature_score "
            f"{settings.max_single_feature_score}), a likely leak: if it is known only after the "
            "outcome, list it in preprocess.outcome_columns; if it is genuinely available at "
            "prediction time, set validation.severity.leakage: warning",
            value=entry["score"],
            threshold=settings.max_single_feature_score,
        )


# --- report parts ---------------------------------------------------------------------


def _role(series: pd.Series, name: str, target_column: str, roles: dict) -> str:
    if name in roles:
        return roles[name]["role"]
    return "target" if name == target_column else column_kind(series)


def _schema(
    frame: pd.DataFrame, role_of: dict[str, str], roles: dict
) -> dict[str, dict[str, object]]:
    schema = {}
    for column in frame.columns:
        name = str(column)
        series = frame[column]
        try:
            distinct = int(series.nunique())
        except TypeError:  # unhashable values
            distinct = int(series.dropna().map(str).nunique())
        schema[name] = {
            "role": role_of[name],
            "reason": roles[name]["reason"] if name in roles else _unlisted_reason(role_of[name]),
            "dtype": str(series.dtype),
            "missing_share": rounded(series.isna().mean()) if len(series) else 0.0,
            "distinct": distinct,
        }
    return dict(sorted(schema.items()))


def _unlisted_reason(role: str) -> str:
    if role == "target":
        return "the target column"
    return "not in the inferred roles: read from its dtype"


def _target_summary(label: pd.Series | None, classification: bool | None) -> dict[str, object]:
    """Rows and missing labels; per class, or the value range (regression); None: task unknown."""
    if label is None:
        return {}
    values = label.dropna()
    summary: dict[str, object] = {
        "labelled_rows": int(len(values)),
        "missing": int(label.isna().sum()),
    }
    if classification:
        counts = _class_counts(label)
        total = max(int(counts.sum()), 1)
        summary["classes"] = {
            str(_show_plain(c)): {"rows": int(n), "share": rounded(n / total)}
            for c, n in counts.items()
        }
    elif classification is not None:
        numbers = pd.to_numeric(values, errors="coerce").dropna().astype("float64")
        for key, value in (
            ("min", numbers.min()),
            ("max", numbers.max()),
            ("mean", numbers.mean()),
            ("std", numbers.std()),
        ):
            summary[key] = _number(value)
    else:
        summary["distinct"] = int(values.nunique())
    return summary


def _why_no_task(label: pd.Series | None) -> str:
    return "the target column is absent" if label is None else "the task is unknown"


# --- small helpers --------------------------------------------------------------------


def _is_text_dtype(series: pd.Series) -> bool:
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype)


def _value_kind(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return "date/time"
    return type(value).__name__


def _is_expected(value: object, expected: ColumnExpectation) -> bool:
    allowed = expected.categories or []
    if value in allowed:
        return True
    text = str(_show_plain(value))
    return any(text == str(c) for c in allowed)


def _examples(values: pd.Series) -> str:
    return ", ".join(_most_frequent(values.map(_show).value_counts()))


def _most_frequent(counts: pd.Series) -> list[str]:
    """Up to EXAMPLES index entries, most frequent first, ties in text order."""
    frame = pd.DataFrame({"value": counts.index.map(str), "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "value"], ascending=[False, True], kind="stable")
    return frame["value"].head(EXAMPLES).tolist()


def _show_plain(value: object) -> object:
    """A numpy / pandas scalar as the plain Python value (a timestamp as ISO text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _show(value: object) -> str:
    return repr(_show_plain(value))


def _number(value: object) -> int | float | None:
    """A JSON-safe number: int stays int, floats rounded, NaN / inf / None become None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    value = float(value)
    return rounded(value) if math.isfinite(value) else None


# Columns listed when a named column is missing; a wide table's list is cut here.
_LISTED_COLUMNS = 40


def _did_you_mean(name: str, present: list[str]) -> str:
    """Close spellings if any, else the table's columns, so the user sees what there is."""
    close = difflib.get_close_matches(name, present, n=3)
    if close:
        return f" (did you mean {', '.join(map(repr, close))}?)"
    listed = sorted(present)
    more = f", ... ({len(listed) - _LISTED_COLUMNS} more)" if len(listed) > _LISTED_COLUMNS else ""
    return f" (its columns: {', '.join(map(repr, listed[:_LISTED_COLUMNS]))}{more})"
