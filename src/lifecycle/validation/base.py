"""What a check is, what it reads, and how it reports.

A check is a function of the joined `Table` that reports what it finds to its own
`Findings`; `@check(severity)` names it (by the function's name) and gives it a default
severity. Its docstring's first paragraph is what its message means (the README's table of
checks is tested against it); the rest says the exact rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from lifecycle.config import ValidationSettings
from lifecycle.preprocessing.tables import Columns
from lifecycle.tasks.base import Task
from lifecycle.validation.display import json_number

Severity = Literal["error", "warning", "off"]


@dataclass(frozen=True)
class Table:
    """What every check reads: the joined table, the label as it will be learned (aligned
    with the rows, missing where the source is; None when the target column is absent), the
    task (None when unknown), each column's role and the validation params."""

    frame: Columns  # a DataFrame, or the dask engine's `PartColumns`
    label: pd.Series | None
    target_column: str
    task: Task | None
    roles: dict[str, dict[str, str]]  # the inferred or declared roles, {"role", "reason"} per column
    role_of: dict[str, str]  # the role of every column, from `roles` or its dtype
    settings: ValidationSettings
    # source -> (exact duplicate rows, rows), counted before preprocess removed them; None:
    # count the repeats in `frame` (a DataFrame)
    source_duplicates: dict[str, tuple[int, int]] | None = None

    @property
    def classification(self) -> bool:
        return self.task is not None and self.task.classification

    def require_task(self) -> Task:
        """The task, for a check that needs it; without one the check is skipped, saying why."""
        if self.label is None:
            raise Skipped("the target column is absent")
        if self.task is None:
            raise Skipped("the task is unknown")
        return self.task


@dataclass(frozen=True)
class Finding:
    """One failed check: which, how severe, on which column, the message, and the number
    (`value`) compared with a `threshold` where one applies."""

    check: str
    severity: str
    column: str | None
    message: str
    value: int | float | None
    threshold: int | float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "column": self.column,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
        }


@dataclass
class Findings:
    """What one check found, at its configured severity, and details the report shows."""

    check: str
    severity: str
    found: list[Finding] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def fail(
        self,
        column: str | None,
        message: str,
        *,
        value: object = None,
        threshold: object = None,
        severity: str | None = None,
    ) -> None:
        """Record a failure; `severity` overrides the configured one (an error whatever the
        configuration, for a problem no run could survive)."""
        self.found.append(
            Finding(self.check, severity or self.severity, column, message, json_number(value), json_number(threshold))
        )


class Skipped(Exception):
    """The check cannot run on this table; the report lists it under `skipped` with the reason."""


@dataclass(frozen=True)
class Check:
    """A named check with its default severity."""

    name: str
    severity: Severity
    run: Callable[[Table, Findings], None]

    @property
    def meaning(self) -> str:
        """The first paragraph of the check's docstring, on one line: what its message means."""
        paragraph = (self.run.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(paragraph.split())


def check(severity: Severity) -> Callable[[Callable[[Table, Findings], None]], Check]:
    """Declare a check named after the function, with its default severity."""

    def declare(run: Callable[[Table, Findings], None]) -> Check:
        return Check(run.__name__, severity, run)

    return declare
