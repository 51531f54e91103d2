"""The pull-request review: compare two revisions' metrics and params, and gate on the main metric.

Pure functions over parsed files; `report.py` reads the files (from git for the base,
from disk for the workspace) and writes the Markdown and figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """One metric or param in base and workspace; numbers get a difference.

    `noise` is the metric's cross-validated standard deviation where one is known: a change
    smaller than it is within what another split of the same data would give.
    """

    file: str
    key: str
    old: Any
    new: Any
    noise: float | None = None

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
        """'better', 'worse', 'same', 'noise' (smaller than `noise`) or '' (unknown direction
        or not numeric)."""
        sign = direction(self.key)
        if self.diff is None or sign == 0:
            return ""
        if self.diff == 0:
            return "same"
        if self.noise is not None and abs(self.diff) < self.noise:
            return "noise"
        return "better" if self.diff * sign > 0 else "worse"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(
    base: dict[str, Any],
    workspace: dict[str, Any],
    file: str,
    changed_only: bool = True,
    noise: Mapping[str, float] | None = None,
) -> list[Change]:
    """Every key present in either side (flattened), changed ones only by default; `noise`
    maps a metric name (a key's last part) to its cross-validated std."""
    old, new = flatten(base), flatten(workspace)
    noise = noise or {}
    changes = [
        Change(file, key, old.get(key), new.get(key), noise.get(key.rsplit(".", 1)[-1]))
        for key in sorted(set(old) | set(new))
    ]
    return [c for c in changes if not changed_only or c.old != c.new]


def cv_noise(train_metrics: dict[str, Any]) -> dict[str, float]:
    """Each metric's cross-validated std from train.json (`cv.validation_<metric>.std`)."""
    return {
        key.removeprefix("validation_"): summary["std"]
        for key, summary in train_metrics.get("cv", {}).items()
        if key.startswith("validation_") and _number(summary.get("std"))
    }


@dataclass(frozen=True)
class Gate:
    """Whether the main metric dropped by more than the tolerance, or the fit became overfit.

    `verdicts` are the fit diagnosis's verdicts of base and workspace: a change that turns a
    fit that was not overfit into an overfit one fails unless `allow_overfit` (a model can
    gain test score and still stop generalising the way its cross-validation promised).
    """

    metric: str
    old: float | None
    new: float | None
    tolerance: float
    verdicts: tuple[str | None, str | None] = (None, None)
    allow_overfit: bool = False

    @property
    def metric_passed(self) -> bool:
        if self.new is None:
            return False
        if self.old is None:
            return True
        sign = direction(self.metric) or 1
        # Rounded: metrics carry 6 decimals, and a drop equal to the tolerance must pass.
        return round((self.new - self.old) * sign, 9) >= -self.tolerance

    @property
    def became_overfit(self) -> bool:
        old, new = self.verdicts
        return old is not None and old != "overfit" and new == "overfit"

    @property
    def passed(self) -> bool:
        return self.metric_passed and (self.allow_overfit or not self.became_overfit)

    def summary(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        if self.new is None:
            line = f"**Gate: FAILED**: the workspace has no `{self.metric}` metric."
        elif self.old is None:
            line = f"**Gate: {status}**: `{self.metric}` = {self.new:.4f}; the base has no value to compare."
        else:
            line = (
                f"**Gate: {status}**: `{self.metric}` {self.old:.4f} → {self.new:.4f} "
                f"({self.new - self.old:+.4f}; tolerance {self.tolerance:g})."
            )
        old, new = self.verdicts
        if old is None or old == new:
            return line
        flip = f"**Fit verdict changed: {old} → {new}**"
        if self.became_overfit:
            accepted = "accepted (`report.allow_overfit`)" if self.allow_overfit else "fails the gate"
            flip += f": {accepted}; see the fit diagnosis below"
        return f"{line}\n\n{flip}."


def gate(
    base: dict[str, Any], workspace: dict[str, Any], metric: str, tolerance: float, allow_overfit: bool = False
) -> Gate:
    """The gate on `metric` (a dotted key of the evaluate metrics) and the fit verdicts."""
    old, new = flatten(base).get(metric), flatten(workspace).get(metric)
    verdicts = (base.get("diagnosis", {}).get("verdict"), workspace.get("diagnosis", {}).get("verdict"))
    return Gate(
        metric, old if _number(old) else None, new if _number(new) else None, tolerance, verdicts, allow_overfit
    )


def slice_regressions(base: dict[str, Any], workspace: dict[str, Any], min_rows: int, tolerance: float) -> list[str]:
    """Slices (slices.json `by_column`) of at least `min_rows` test rows whose ranking metric
    got worse by more than `tolerance`, worst first: an average can rise while a group of
    users loses, and the reviewer should see it before the tables."""
    metric = workspace.get("ranked_by")
    if metric is None or metric != base.get("ranked_by"):
        return []
    sign = direction(metric) or 1
    before = slice_rows(base)
    found = []
    for (column, value), new in slice_rows(workspace).items():
        old = before.get((column, value))
        if not old or new.get("rows", 0) < min_rows or not (_number(old.get(metric)) and _number(new.get(metric))):
            continue
        drop = (old[metric] - new[metric]) * sign
        if drop > tolerance:
            found.append((drop, f"`{column}={value}` {old[metric]:.4f} → {new[metric]:.4f} ({new['rows']:,} rows)"))
    return [text for _, text in sorted(found, reverse=True)]


def slice_rows(slices: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(column, value) -> the slice's metrics, from `by_column` as slices.json writes it (a
    list of rows per column) or as earlier revisions wrote it (a dict keyed by value)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for column, values in slices.get("by_column", {}).items():
        entries = values if isinstance(values, list) else [{"value": v, **m} for v, m in values.items()]
        rows.update({(column, str(entry["value"])): entry for entry in entries})
    return rows


ARROWS = {"better": "🟢 ▲", "worse": "🔴 ▼", "noise": "≈ (within CV std)", "same": "=", "": ""}


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return ""
    if percent:
        return f"{value * 100:+.2f} %"
    return f"{value:+d}" if isinstance(value, int) else f"{value:+.4f}"


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
    regressed_slices: Sequence[str] = (),
) -> str:
    """The review as Markdown, gate first, then the slices that got worse (`regressed_slices`).

    `model` is each side's fitted family, who chose it, its search and warnings (one row
    each); `worst_slices` are the `worst` entries of each side's slices.json and `ranked_by`
    the metric each side ranks them by (its `ranked_by` key): the value shown per slice.
    """
    lines = [MARKER, f"# Model review: `{base_label}` → workspace", "", gate_result.summary(), ""]
    if regressed_slices:
        lines += ["**Slices that got worse:** " + "; ".join(regressed_slices) + ".", ""]
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
