"""The monitor's outputs: metrics/monitor.json for machines and `git diff`, and
reports/monitor/ for people: index.html with matplotlib PNGs, summary.md for a CI comment.

Everything is computed before anything is written; the report folder is swapped in whole
(`atomic_directory`) and the JSON renamed into place, so a failed run leaves the previous
report or none, never half of one. Figures are drawn like the evaluate stage's: on
`Figure` objects, matplotlib imported on first use.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecycle.evaluation.figures import save_figure
from lifecycle.monitoring.drift import ColumnDrift
from lifecycle.monitoring.monitor import MonitorResult
from lifecycle.monitoring.reference import SCORE_COLUMN
from lifecycle.storage import atomic_directory, write_json, write_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SHOWN_DISTRIBUTIONS = 6  # drifted columns whose distributions the report draws
SHOWN_CATEGORIES = 12
FIGURE_SIZE = (6, 4)  # inches, the report's distribution and performance charts


def drift_figure(columns: list[ColumnDrift], target: Path) -> None:
    def draw(axes: Axes) -> None:
        names = [c.column + (" (expected)" if c.expected else "") for c in columns]
        colours = [
            "#c0392b" if c.drifted and not c.expected else "#95a5a6" if c.expected else "#2e86c1" for c in columns
        ]
        axes.barh(names, [c.ratio for c in columns], color=colours)
        axes.axvline(1.0, color="black", linestyle="--", linewidth=1)
        axes.invert_yaxis()
        axes.set_xlabel("drift score / threshold (tests: threshold / p-value); 1 = drift")

    save_figure(target, "Drift per column (red: drifted)", draw, size=(7, max(3, 0.3 * len(columns) + 1)))


def distribution_figure(
    name: str, reference: pd.Series, current: pd.Series, numeric: bool, baseline: str, target: Path
) -> None:
    """Reference against current: shared histogram bins, or the shares of the top categories.
    `baseline` names the reference in the legend (training, or the previous window)."""

    def draw(axes: Axes) -> None:
        ref, cur = reference.dropna(), current.dropna()
        if numeric:
            both = np.concatenate([ref.to_numpy(float), cur.to_numpy(float)])
            edges = np.histogram_bin_edges(both, bins=30) if len(both) else 10
            axes.hist(ref, bins=edges, density=True, alpha=0.55, label=f"reference: {baseline}")
            axes.hist(cur, bins=edges, density=True, alpha=0.55, label="current window")
            axes.set(xlabel=name, ylabel="density")
        else:
            shares = pd.DataFrame(
                {"reference": ref.value_counts(normalize=True), "current": cur.value_counts(normalize=True)}
            ).fillna(0.0)
            top = shares.max(axis=1).sort_values(ascending=False).index[:SHOWN_CATEGORIES]
            positions = np.arange(len(top))
            axes.bar(positions - 0.2, shares.loc[top, "reference"], width=0.4, label=f"reference: {baseline}")
            axes.bar(positions + 0.2, shares.loc[top, "current"], width=0.4, label="current window")
            axes.set_xticks(positions, [str(v) for v in top], rotation=45, ha="right")
            axes.set(ylabel="share of rows")
        axes.legend()

    save_figure(target, f"{name}: reference vs current", draw, FIGURE_SIZE)


def live_metric_figure(result: MonitorResult, target: Path) -> None:
    performance = result.performance
    assert performance is not None

    def draw(axes: Axes) -> None:
        points = [w for w in performance.windows if w["value"] is not None]
        starts = [pd.Timestamp(w["start"]).strftime("%Y-%m-%d %H:%M") for w in points]
        values = [w["value"] for w in points]
        lows = [w["value"] - (w["low"] if w["low"] is not None else w["value"]) for w in points]
        highs = [(w["high"] if w["high"] is not None else w["value"]) - w["value"] for w in points]
        positions = list(range(len(points)))
        axes.errorbar(positions, values, yerr=[lows, highs], fmt="o-", capsize=4, label="live (bootstrap interval)")
        axes.set_xticks(positions, starts)
        if performance.test_value is not None:
            axes.axhline(performance.test_value, color="grey", linestyle="--", label="test")
        axes.set(xlabel="window start", ylabel=performance.metric)
        axes.tick_params(axis="x", labelrotation=30)
        axes.legend()

    save_figure(target, f"Live {performance.metric} per {len(performance.windows)} window(s)", draw, FIGURE_SIZE)


def _figures(result: MonitorResult, folder: Path) -> list[tuple[str, str]]:
    """Draw every figure into `folder`; returns (file name, caption) in report order."""
    shown: list[tuple[str, str]] = []
    drift_figure(result.drift.columns, folder / "drift.png")
    shown.append(("drift.png", "Drift score per column"))
    baseline = result.baseline.label
    distribution_figure(
        "model score",
        result.reference[SCORE_COLUMN],
        result.current[SCORE_COLUMN],
        True,
        baseline,
        folder / "score.png",
    )
    shown.append(("score.png", "The model's scores: reference vs current"))
    # unusual columns first: the likeliest faults
    unusual = [u.column for u in result.unusual]
    drifted = [c for c in result.drift.columns if (c.drifted and not c.expected) or c.column in unusual]
    drifted.sort(key=lambda c: unusual.index(c.column) if c.column in unusual else len(unusual))
    for column in drifted[:SHOWN_DISTRIBUTIONS]:
        name = f"distribution_{column.column}.png"
        distribution_figure(
            column.column,
            result.reference[column.column],
            result.current[column.column],
            column.kind == "numeric",
            baseline,
            folder / name,
        )
        shown.append((name, f"{column.column}: reference vs current"))
    if result.performance is not None and any(w["value"] is not None for w in result.performance.windows):
        live_metric_figure(result, folder / "live_metric.png")
        shown.append(("live_metric.png", "Live metric per window"))
    return shown


def _score_text(column: ColumnDrift) -> str:
    return "no values" if column.score is None else f"{column.score:.4g}"


def _drift_rows(result: MonitorResult) -> list[list[str]]:
    return [
        [
            c.column,
            c.kind,
            c.method,
            _score_text(c),
            f"{c.threshold:g}",
            "yes" if c.drifted else "no",
            "" if c.psi is None else f"{c.psi:.3f}",
            "expected" if c.expected else "",
        ]
        for c in [*result.drift.columns, result.prediction_drift]
    ]


DRIFT_HEADER = ["column", "kind", "method", "score", "threshold", "drifted", "PSI", "note"]


def _performance_lines(result: MonitorResult) -> list[str]:
    performance = result.performance
    if performance is None:
        return ["No labelled predictions in the window."]
    overall = performance.overall
    interval = "" if overall.low is None else f" [{overall.low:.3f}, {overall.high:.3f}]"
    value = "n/a" if overall.value is None else f"{overall.value:.3f}"
    return [
        f"Live {performance.metric}: {value}{interval} on {performance.labelled} labelled rows "
        f"({performance.share_labelled:.1%} of {performance.predictions} predictions); "
        f"test {performance.metric}: {performance.test_value}.",
        *(
            f"Worst slice {w['slice']}: {w[performance.metric]:.3f} on {w['rows']} rows."
            for w in performance.slices.get("worst", [])[:3]
            if performance.metric in w
        ),
    ]


def _statuses(counts: dict[str, Any]) -> str:
    return ", ".join(f"{status}: {count}" for status, count in counts["by_status"].items()) or "none"


def _rejected_line(result: MonitorResult) -> str:
    """The window's rejected prediction requests, or why they are not known."""
    counted = result.rejected_requests
    if not counted["recorded"]:
        return (
            "Rejected requests: not recorded (the log's database has no table of rejected requests; "
            "services of this version record them)."
        )
    return (
        f"Rejected requests: {counted['rejected']} of {counted['requests']} prediction requests "
        f"({counted['share']:.2%}); by status: {_statuses(counted)}."
    )


def _unusual_line(result: MonitorResult) -> str:
    if result.history_windows < 2:
        return "Not judged: fewer than two windows before this one hold predictions of this model version."
    if not result.unusual:
        return f"None: no column is unusually far from the {result.history_windows} windows before."
    return "Unusually far from the windows before (a broken input?): " + "; ".join(u.sentence() for u in result.unusual)


def summary_markdown(result: MonitorResult) -> str:
    """The CI comment: verdict, alerts and notes, drift table, live performance."""
    window = result.window
    lines = [
        f"# Monitor: model {window.model_version}, {window.since.isoformat()} to {window.until.isoformat()}",
        "",
        f"**{result.verdict}** (exit code {int(result.exit_code)})",
        "",
        *(f"- alert: {a}" for a in result.alerts),
        *(f"- note: {n}" for n in result.notes),
        "",
        f"Predictions: {sum(v['predictions'] for v in result.volume)}"
        + (f"; other model versions not judged: {window.other_versions}" if window.other_versions else ""),
        "",
        "## Drift",
        "",
        f"Against {result.baseline.label} ({result.baseline.rows} rows): "
        f"{result.drift.drifted} of {result.drift.counted} counted columns drifted "
        f"(share {result.drift.share:.2f}); dataset drift: {'yes' if result.drift.drift else 'no'}.",
        "",
        "| " + " | ".join(DRIFT_HEADER) + " |",
        "|" + "---|" * len(DRIFT_HEADER),
        *("| " + " | ".join(row) + " |" for row in _drift_rows(result)),
        "",
        "## Unusual drift",
        "",
        _unusual_line(result),
        "",
        "## Live performance",
        "",
        *_performance_lines(result),
        "",
        "## Data quality",
        "",
        _rejected_line(result),
        "",
    ]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(result: MonitorResult, figures: list[tuple[str, str]]) -> str:
    """A self-contained page (no scripts, no network) with the figures beside it."""
    window = result.window
    quality_rows = [
        [
            q["column"],
            f"{q['missing_share']:.3f}",
            f"{q['reference_missing_share']:.3f}",
            "" if "unknown_share" not in q else f"{q['unknown_share']:.3f}",
        ]
        for q in result.quality["columns"]
    ]
    windows = [] if result.performance is None else result.performance.windows
    window_rows = [
        [
            w["start"],
            str(w["predictions"]),
            str(w["rows"]),
            "n/a" if w["value"] is None else f"{w['value']:.3f}",
            "" if w["low"] is None else f"[{w['low']:.3f}, {w['high']:.3f}]",
        ]
        for w in windows
    ]
    rejected_rows = [
        [w["start"], str(w["requests"]), str(w["rejected"]), f"{w['share']:.2%}", _statuses(w)]
        for w in result.rejected_requests.get("windows", [])
    ]
    items = "".join(f"<li>{html.escape(a)}</li>" for a in [*result.alerts, *result.notes])
    images = "".join(
        f'<figure><img src="{name}" alt="{html.escape(text)}"><figcaption>{html.escape(text)}</figcaption></figure>'
        for name, text in figures
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Monitor: model {html.escape(window.model_version)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; }}
th {{ background: #f2f2f2; }} figure {{ display: inline-block; margin: 0.5em; }} img {{ max-width: 520px; }}
.verdict {{ font-size: 1.2em; font-weight: bold; }}
</style></head><body>
<h1>Monitor: model {html.escape(window.model_version)}</h1>
<p>Window {html.escape(window.since.isoformat())} to {html.escape(window.until.isoformat())};
{sum(v["predictions"] for v in result.volume)} predictions judged.</p>
<p class="verdict">{html.escape(result.verdict)} (exit code {int(result.exit_code)})</p>
<ul>{items}</ul>
<h2>Drift</h2>
<p>Against {html.escape(result.baseline.label)} ({result.baseline.rows} rows):
{result.drift.drifted} of {result.drift.counted} counted columns drifted (share {result.drift.share:.2f});
dataset drift: {"yes" if result.drift.drift else "no"}.</p>
{_table(DRIFT_HEADER, _drift_rows(result))}
<h2>Unusual drift</h2>
<p>{html.escape(_unusual_line(result))}</p>
<h2>Live performance</h2>
{"".join(f"<p>{html.escape(line)}</p>" for line in _performance_lines(result))}
{_table(["window start", "predictions", "labelled", "metric", "interval"], window_rows) if window_rows else ""}
<h2>Data quality</h2>
<p>Predictions flagged for a category never seen in training: {result.quality["flagged_unknown_share"]:.3f}.</p>
<p>{html.escape(_rejected_line(result))}</p>
{_table(["window start", "requests", "rejected", "share", "by status"], rejected_rows) if rejected_rows else ""}
{_table(["column", "missing share", "training missing share", "unknown category share"], quality_rows)}
<h2>Figures</h2>
{images}
</body></html>
"""


def write_outputs(result: MonitorResult, metrics_file: Path, report_dir: Path) -> None:
    """The report folder (figures, index.html, summary.md), swapped in whole, then the JSON."""
    with atomic_directory(report_dir) as folder:
        figures = _figures(result, folder)
        write_text(report_html(result, figures), folder / "index.html")
        write_text(summary_markdown(result), folder / "summary.md")
    write_json(result.as_json(), metrics_file)
