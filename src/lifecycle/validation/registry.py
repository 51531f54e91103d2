"""Every check, in the order they run: the one list the params' check names, the default
severities and the README's table are tested against."""

from __future__ import annotations

from lifecycle.validation import columns, leakage, target, values
from lifecycle.validation.base import Check

CHECKS: tuple[Check, ...] = (
    columns.missing_column,
    columns.dtype,
    columns.mixed_types,
    target.target_missing_values,
    target.target_constant,
    values.missing_values,
    values.empty_column,
    values.duplicates,
    target.class_balance,
    target.rare_class,
    values.out_of_range,
    values.unexpected_category,
    leakage.leakage,
)
DEFAULT_SEVERITY: dict[str, str] = {c.name: c.severity for c in CHECKS}
