"""The task names params may give, and the target keys only one task reads.

The part of the registry that params validation needs: `lifecycle.config` imports this
module alone, so settings stay free of models and metrics (and every stage's code
dependencies stay small). `tests` check the names against the registry.
"""

from __future__ import annotations

from typing import Literal

TaskName = Literal["binary", "multiclass", "regression"]


def check_target_keys(task: TaskName | None, threshold: float | None, positive_label: object) -> None:
    """Refuse preprocess.target keys that only a binary task reads, set for another task."""
    if task in (None, "binary"):
        return
    if threshold is not None:
        raise ValueError(f"a target `threshold` makes a binary task, not {task!r}")
    if positive_label is not None:
        raise ValueError(f"`positive_label` applies to a binary task, not {task!r}")
