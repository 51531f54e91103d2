"""The registry of tasks: the one place a task's name leads to its object."""

from __future__ import annotations

from lifecycle.errors import LifecycleError
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY
from lifecycle.tasks.multiclass import MULTICLASS
from lifecycle.tasks.regression import REGRESSION

TASKS: dict[str, Task] = {task.name: task for task in (BINARY, MULTICLASS, REGRESSION)}
# A metric name improves the same way in every task that reports it (accuracy, log loss).
HIGHER_IS_BETTER = frozenset().union(*(task.higher_is_better for task in TASKS.values()))
LOWER_IS_BETTER = frozenset().union(*(task.lower_is_better for task in TASKS.values()))


def task_named(name: str) -> Task:
    """The task of a name as params, roles.json, train metrics and bundles record it."""
    try:
        return TASKS[name]
    except KeyError:
        raise LifecycleError(f"unknown task {name!r}; expected one of {sorted(TASKS)}") from None


def infer_task_name(distinct: int, numeric: bool, fractional: bool, max_classes: int) -> str:
    """The task a target's values make: two values are binary; numbers with fractions or more
    than `max_classes` distinct integers are regression; anything else is multiclass."""
    if distinct == 2:
        return BINARY.name
    if numeric and (fractional or distinct > max_classes):
        return REGRESSION.name
    return MULTICLASS.name


def metric_direction(name: str) -> int:
    """+1 if a higher value of the metric is better, -1 if lower is, 0 if it has no direction."""
    if name in HIGHER_IS_BETTER:
        return 1
    if name in LOWER_IS_BETTER:
        return -1
    return 0
