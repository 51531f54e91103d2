"""The pull-request review: compare two revisions' metrics and params, and gate on the main metric.

Pure functions over parsed files; `report.py` reads the files (from git for the base,
from disk for the workspace) and writes the Markdown and figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifecycle.tasks.registry import metric_direction

MARKER = "<!-- lifecycle-review -->"
# How the review names the metric a slice ranking uses (others are shown as they are).
METRIC_NAMES = {"roc_auc": "ROC-AUC", "roc_auc_ovr": "one-vs-rest ROC-AUC", "r2": "R²"}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys, keeping numbers and strings (as `dvc metrics` does)."""
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    if isinstance(data, bool) or not isinstance(data, (int, float, str)):
        return {}
    return {prefix[:-1]: data}


def direction(key: str) -> int:
    """+1 if a higher value is better, -1 if lower is better, 0 if unknown or not a score.

    The metric name is the key's last part, or for cross-validation summaries
    (`cv.validation_roc_auc.mean`) the part before `mean` without its split prefix.
    """
    parts = key.split(".")
    name = parts[-1]
    if name == "mean" and len(parts) > 1:
        name = parts[-2].removeprefix("validation_").removeprefix("train_")
    return metric_direction(name)


@dataclass(frozen=True)
class Change:
    """One metric or param in base and workspace; numbers get a difference."""

    file: str
    key: str
    old: Any
    new: Any

    @property
    def diff(self) -> float | None:
        if _number(self.old) and _number(self.new):
            return self.new - self.old
        return None

    @property
    def relative(self) -> float | None:
        if self.diff is None or self.old == 0:
            return None
        return self.diff / abs(self.old)

    @property
    def verdict(self) -> str:
        """'better', 'worse', 'same' or '' (unknown direction or not numeric)."""
        sign = direction(self.key)
        if self.diff is None or sign == 0:
            return ""
        if self.diff == 0:
            return "same"
        return "better" if self.diff * sign > 0 else "worse"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(base: dict[str, Any], workspace: dict[str, Any], file: str, changed_only: bool = True) -> list[Change]:
    """Every key present in either side (flattened), changed ones only by default."""
    old, new = flatten(base), flatten(workspace)
    changes = [Change(file, key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new))]
    return [c for c in changes if not changed_only or c.old != c.new]


@dataclass(frozen=True)
class Gate:
    """Whether the main metric dropped by more than the tolerance."""

    metric: str
    old: float | None
    new: float | None
    tolerance: float

    @property
    def passed(self) -> bool:
        if self.new is None:
            return False
        if self.old is None:
            return True
        sign = direction(self.metric) or 1
        # Rounded: metrics carry 6 decimals, and a drop equal to the tolerance must pass.
        return round((self.new - self.old) * sign, 9) >= -self.tolerance

    def summary(self) -> str:
        if self.new is None:
            return f"**Gate: FAILED**: the workspace has no `{self.metric}` metric."
        if self.old is None:
            return f"**Gate: PASSED**: `{self.metric}` = {self.new:.4f}; the base has no value to compare."
        status = "PASSED" if self.passed else "FAILED"
        return (
            f"**Gate: {status}**: `{self.metric}` {self.old:.4f} → {self.new:.4f} "
            f"({self.new - self.old:+.4f}; tolerance {self.tolerance:g})."
        )


def gate(base: dict[str, Any], workspace: dict[str, Any], metric: str, tolerance: float) -> Gate:
    """The gate on `metric` (a dotted key of the evaluate metrics)."""
    old, new = flatten(base).get(metric), flatten(workspace).get(metric)
    return Gate(metric, old if _number(old) else None, new if _number(new) else None, tolerance)


ARROWS = {"better": "🟢 ▲", "worse": "🔴 ▼", "same": "=", "": ""}


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return ""
    return f"{value * 100:+.2f} %" if percent else f"{value:+.4f}"


def metrics_table(changes: list[Change]) -> list[str]:
    """A Markdown table: key, base, workspace, change, relative change, arrow."""
    lines = ["| metric | base | workspace | change | relative | |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for c in changes:
        lines.append(
            f"| `{c.key}` | {_value(c.old)} | {_value(c.new)} | {_signed(c.diff)} | "
            f"{_signed(c.relative, percent=True)} | {ARROWS[c.verdict]} |"
        )
    return lines


def render(
    *,
    base_label: str,
    gate_result: Gate,
    headline: list[Change],
    other_metrics: list[Change],
    params: list[Change],
    diagnosis: tuple[dict[str, Any], dict[str, Any]],
    model: tuple[dict[str, str], dict[str, str]],
    worst_slices: tuple[dict[str, Any], dict[str, Any]],
    figures: list[str],
    ranked_by: tuple[str, str] = ("roc_auc", "roc_auc"),
) -> str:
    """The review as Markdown, gate first.

    `model` is each side's fitted family, who chose it, its search and warnings (one row
    each); `worst_slices` are the `worst` entries of each side's slices.json and `ranked_by`
    the metric each side ranks them by (its `ranked_by` key): the value shown per slice.
    """
    lines = [MARKER, f"# Model review: `{base_label}` → workspace", "", gate_result.summary(), ""]
    lines += ["## Headline metrics (test)", "", *metrics_table(headline), ""]
    lines += ["## Fit diagnosis", "", "| | base | workspace |", "| --- | --- | --- |"]
    for key in ("verdict", "train", "validation", "test", "train_validation_gap"):
        lines.append(f"| {key} | {_value(diagnosis[0].get(key))} | {_value(diagnosis[1].get(key))} |")
    lines += ["", "## Model", "", "| | base | workspace |", "| --- | --- | --- |"]
    lines += [f"| {key} | {model[0].get(key, '—')} | {model[1].get(key, '—')} |" for key in model[1]]
    lines += ["", "## Params changed", ""]
    if params:
        lines += ["| param | base | workspace |", "| --- | --- | --- |"]
        lines += [f"| `{c.key}` | {_value(c.old)} | {_value(c.new)} |" for c in params]
    else:
        lines.append("No params changed.")
    lines += ["", f"## Worst slices ({_ranking(ranked_by)})", ""]
    lines += ["| rank | base | workspace |", "| --- | --- | --- |"]
    for rank in sorted(set(worst_slices[0]) | set(worst_slices[1]), key=int):
        cells = [_slice(side.get(rank), metric) for side, metric in zip(worst_slices, ranked_by)]
        lines.append(f"| {rank} | {cells[0]} | {cells[1]} |")
    lines += ["", "## Plots (base and workspace overlaid)", ""]
    lines += [f"![{name}]({name})" for name in figures]
    lines += ["", "<details><summary>Every other metric that changed</summary>", ""]
    lines += [*metrics_table(other_metrics), "", "</details>", ""]
    return "\n".join(lines)


def _ranking(ranked_by: tuple[str, str]) -> str:
    """The heading's note of the metric slices are ranked by, per side if they differ."""
    base, workspace = (METRIC_NAMES.get(m, m) for m in ranked_by)
    if base == workspace:
        return f"test {workspace}"
    return f"base by test {base}, workspace by test {workspace}"


def _slice(entry: dict[str, Any] | None, metric: str) -> str:
    """One worst slice: its name, its value of the ranking metric and its rows."""
    if not entry:
        return "—"
    value = entry.get(metric)
    shown = f"{value:.3f}" if _number(value) else "—"
    return f"{entry['slice']} ({shown}, {entry['rows']:,} rows)"
