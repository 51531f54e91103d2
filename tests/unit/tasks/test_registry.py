"""The task registry is the one place that knows the tasks: every task answers the same
questions, and no other module asks for a task by its name."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

from lifecycle.config import TargetSettings
from lifecycle.errors import LifecycleError
from lifecycle.tasks.base import Task
from lifecycle.tasks.names import TaskName
from lifecycle.tasks.registry import HIGHER_IS_BETTER, LOWER_IS_BETTER, TASKS, metric_direction, task_named
from tests.support.project import ROOT

PACKAGE = ROOT / "src/lifecycle"
REGISTRY = PACKAGE / "tasks"
TASK_OBJECTS = {"BINARY", "MULTICLASS", "REGRESSION", "BinaryTask", "MulticlassTask", "RegressionTask"}


def _names_a_task(node: ast.AST) -> bool:
    """A task's name as a string, a task object by its constant, or a task object's `.name`."""
    if isinstance(node, ast.Constant):
        return node.value in TASKS
    if isinstance(node, ast.Name):
        return node.id in TASK_OBJECTS
    if isinstance(node, ast.Attribute):
        return node.attr in TASK_OBJECTS or (node.attr == "name" and _names_a_task(node.value))
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_task(element) for element in node.elts)
    return False


def task_comparisons(path: Path) -> list[str]:
    """Every place in `path` that compares with a task, keys a dict by one, matches one or
    tests a task's class: what a new task would have to be added to."""
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and any(_names_a_task(n) for n in [node.left, *node.comparators]):
            found.append((node.lineno, "compares a task"))
        elif isinstance(node, ast.Dict) and any(k is not None and _names_a_task(k) for k in node.keys):
            found.append((node.lineno, "a dict keyed by task"))
        elif isinstance(node, ast.MatchValue) and _names_a_task(node.value):
            found.append((node.lineno, "matches a task"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and _names_a_task(node.args[1])
        ):
            found.append((node.lineno, "tests a task's class"))
    return [f"{where}:{line}: {what}" for line, what in sorted(found)]


def test_no_module_outside_the_registry_compares_a_task() -> None:
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if REGISTRY not in p.parents]
    assert len(modules) > 50
    assert [line for path in modules for line in task_comparisons(path)] == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scan above would see each way of switching on a task."""
    sample = tmp_path / "switch.py"
    sample.write_text(
        "if task == 'regression': pass\n"
        "if name in ('binary', 'multiclass'): pass\n"
        "FIGURES = {'binary': 1}\n"
        "if task is BINARY or task.name != MULTICLASS.name: pass\n"
        "match task:\n    case 'binary': pass\n"
        "if isinstance(task, RegressionTask): pass\n"
        "if task.classification: pass\n"
    )
    assert [line.split(": ", 1)[1] for line in task_comparisons(sample)] == [
        "compares a task",
        "compares a task",
        "a dict keyed by task",
        "compares a task",
        "compares a task",
        "matches a task",
        "tests a task's class",
    ]


def test_the_registry_holds_the_task_names_params_accept() -> None:
    assert sorted(TASKS) == sorted(typing.get_args(TaskName))
    assert all(task_named(name).name == name for name in TASKS)
    with pytest.raises(
        LifecycleError, match=r"unknown task 'ranking'; expected one of \['binary', 'multiclass', 'regression'\]"
    ):
        task_named("ranking")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_answers_every_question(name: str) -> None:
    task = TASKS[name]
    assert isinstance(task, Task) and not inspect.isabstract(type(task))
    for attribute, kind in typing.get_type_hints(Task).items():
        if typing.get_origin(kind) is typing.ClassVar:
            assert hasattr(task, attribute), f"{name} does not set {attribute}"
    assert set(task.headline_metrics) <= task.higher_is_better | task.lower_is_better
    assert set(task.scores) <= task.higher_is_better and task.default_metric in task.scores
    assert set(task.baseline_metrics) <= set(task.headline_metrics) and task.baselines
    assert task.slice_ranked_by in task.scores
    assert task.answer.__name__ == f"{name.capitalize()}Prediction"
    assert "label" in task.answer.model_fields and "unknown_categories" in task.answer.model_fields


def test_a_metric_improves_the_same_way_in_every_task() -> None:
    assert not HIGHER_IS_BETTER & LOWER_IS_BETTER
    assert (metric_direction("roc_auc"), metric_direction("rmse"), metric_direction("rows")) == (1, -1, 0)


def test_binary_only_target_keys_are_refused_for_other_tasks() -> None:
    """Params validation asks the registry's light module, not the task objects."""
    assert TargetSettings(column="y", threshold=1.0, task="binary").threshold == 1.0
    with pytest.raises(ValueError, match="a target `threshold` makes a binary task, not 'regression'"):
        TargetSettings(column="y", threshold=1.0, task="regression")
    with pytest.raises(ValueError, match="`positive_label` applies to a binary task, not 'multiclass'"):
        TargetSettings(column="y", positive_label="yes", task="multiclass")
