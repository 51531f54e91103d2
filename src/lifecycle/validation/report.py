"""Run the registry's checks on the joined table and report: the JSON for machines and
`git diff`, the Markdown to read, and the one error that stops the pipeline.

Each check's default severity (`lifecycle.validation.registry`) can be overridden by
`validation.severity.<check>`: `error` stops the pipeline, `warning` is reported and the
run continues, `off` skips the check entirely (not even computed). A check that cannot
run on the table (class checks and leakage without a target or a known task) is listed
under `skipped` with the reason, as is every check set to `off`.

A *feature column* is one whose role is numeric, categorical, boolean or datetime (a
column missing from the roles gets the role its dtype implies); target, outcome,
identifier, text, constant and drop columns are never features.
"""

from __future__ import annotations

import pandas as pd

from lifecycle.config import ValidationSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.rounding import rounded
from lifecycle.packaging.schema import column_kind
from lifecycle.preprocessing.tables import Columns
from lifecycle.tasks.registry import task_named
from lifecycle.validation.base import Findings, Skipped, Table
from lifecycle.validation.display import json_number, show_plain
from lifecycle.validation.leakage import score_name
from lifecycle.validation.registry import CHECKS, DEFAULT_SEVERITY
from lifecycle.validation.target import class_counts


def validate_table(
    frame: Columns,
    label: pd.Series | None,
    target_column: str,
    task: str | None,
    roles: dict[str, dict[str, str]],
    settings: ValidationSettings,
    source_duplicates: dict[str, tuple[int, int]] | None = None,
) -> dict[str, object]:
    """Run every check that is not off on the joined table; return the JSON-safe report.

    `label` is the target as it will be learned, aligned with `frame` (missing where the
    source is), or None when the target column is absent. `task` is its task's name (None:
    unknown). `roles` maps each column to {"role", "reason"} (the inferred schema).
    `source_duplicates` maps each source to (exact duplicate rows, rows) counted before
    preprocess removed them; without it the duplicates check counts repeats in `frame`.
    """
    if label is not None and len(label) != len(frame):
        raise ValueError(f"label has {len(label)} rows but the table has {len(frame)}")
    severity = {**DEFAULT_SEVERITY, **settings.severity}
    role_of = {str(c): _role(frame, c, target_column, roles) for c in frame.columns}
    table = Table(
        frame,
        label,
        target_column,
        None if task is None else task_named(task),
        roles,
        role_of,
        settings,
        source_duplicates,
    )
    findings = [Findings(check.name, severity[check.name]) for check in CHECKS]
    skipped: dict[str, str] = {name: "severity off" for name, s in severity.items() if s == "off"}
    details: dict[str, object] = {}
    for check, found in zip(CHECKS, findings):
        if found.severity == "off":
            continue
        try:
            check.run(table, found)
        except Skipped as reason:
            skipped[check.name] = str(reason)
        details.update(found.details)
    checks = sorted(
        (f.as_json() for found in findings for f in found.found),
        key=lambda c: (c["severity"] != "error", c["check"], c["column"] or "", c["message"]),
    )
    errors = sum(c["severity"] == "error" for c in checks)
    warned = len(checks) - errors
    status = "failed" if errors else "passed with warnings" if warned else "passed"
    return {
        "status": status,
        "rows": int(len(frame)),
        "columns": len(frame.columns),
        "task": task,
        "target": target_column,
        "counts": {"error": errors, "warning": warned},
        "checks": checks,
        "skipped": dict(sorted(skipped.items())),
        "severity": dict(sorted(severity.items())),
        "schema": _schema(frame, role_of, roles),
        "target_summary": _target_summary(label, None if table.task is None else table.task.classification),
        "single_feature_metric": score_name(table.classification) if severity["leakage"] != "off" and task else None,
        "single_feature_scores": details.get("single_feature_scores", []),
    }


def summary_markdown(report: dict[str, object]) -> str:
    """A readable summary: status, every failed check's message, target, best single features,
    and every column's role with the reason it was given (declared or inferred)."""
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
        lines += [f"| `{s['column']}` | {s['score']:.4f} |" for s in report["single_feature_scores"]]
        lines.append("")
    if report.get("schema"):
        lines += ["## Column roles", "", "| column | role | why | dtype | missing |", "|---|---|---|---|---|"]
        lines += [
            f"| `{name}` | {entry['role']} | {entry['reason']} | {entry['dtype']} | {entry['missing_share']:.1%} |"
            for name, entry in report["schema"].items()
        ]
        lines.append("")
    return "\n".join(lines)


def raise_on_errors(report: dict[str, object], report_path: str) -> None:
    """Raise `LifecycleError` naming every error (check, column, problem) and `report_path`."""
    errors = [c for c in report["checks"] if c["severity"] == "error"]
    if not errors:
        return
    problems = "; ".join(f"[{c['check']}] {c['message']}" for c in errors)
    raise LifecycleError(f"data validation failed with {len(errors)} error(s) (full report: {report_path}): {problems}")


def _role(frame: Columns, column: str, target_column: str, roles: dict) -> str:
    """The role a column was given, else read from its dtype (a column read only then: a
    `PartColumns` reads it from disk)."""
    name = str(column)
    if name in roles:
        return roles[name]["role"]
    return "target" if name == target_column else column_kind(frame[column])


def _schema(frame: Columns, role_of: dict[str, str], roles: dict) -> dict[str, dict[str, object]]:
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
        counts = class_counts(label)
        total = max(int(counts.sum()), 1)
        summary["classes"] = {
            str(show_plain(c)): {"rows": int(n), "share": rounded(n / total)} for c, n in counts.items()
        }
    elif classification is not None:
        numbers = pd.to_numeric(values, errors="coerce").dropna().astype("float64")
        for key, value in (
            ("min", numbers.min()),
            ("max", numbers.max()),
            ("mean", numbers.mean()),
            ("std", numbers.std()),
        ):
            summary[key] = json_number(value)
    else:
        summary["distinct"] = int(values.nunique())
    return summary
