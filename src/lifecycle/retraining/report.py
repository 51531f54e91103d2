"""The challenge's outputs: metrics/challenge.json for machines and `git diff`, and
reports/challenge/ for the pull request: summary.md and a PNG of both models' main metric
with its interval, overall and on the slices where they differ most.

Computed first, written last: the report folder is swapped in whole and the JSON renamed
into place, so a failed run leaves the previous outputs or none.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle.evaluation.figures import save_figure
from lifecycle.retraining.challenge import ChallengeResult, ModelScore
from lifecycle.review.comparison import slice_rows
from lifecycle.storage import atomic_directory, write_json, write_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SHOWN_SLICES = 8  # the slices whose metric differs most between the two models


def slice_pairs(result: ChallengeResult) -> list[tuple[str, float, float, int]]:
    """(slice, champion, challenger, rows) for the slices both scored, largest difference first."""
    ranked_by = result.challenger.slices.get("ranked_by")
    old, new = slice_rows(result.champion.slices), slice_rows(result.challenger.slices)
    pairs = []
    for (column, value), row in new.items():
        before, after = old.get((column, value), {}).get(ranked_by), row.get(ranked_by)
        if isinstance(before, float) and isinstance(after, float):
            pairs.append((f"{column}={value}", before, after, int(row["rows"])))
    return sorted(pairs, key=lambda p: abs(p[2] - p[1]), reverse=True)


def _interval(score: ModelScore) -> str:
    main = score.main
    if main.value is None:
        return "n/a"
    return f"{main.value:.4f}" + ("" if main.low is None else f" [{main.low:.4f}, {main.high:.4f}]")


def summary_markdown(result: ChallengeResult) -> str:
    """The pull-request text: the decision and why, both models' metrics, the slices."""
    champion, challenger = result.champion, result.challenger
    verdict = "the challenger wins" if result.decision.challenger_wins else "the champion stays"
    metrics = [m for m in challenger.headline if m in champion.metrics and m in challenger.metrics]
    ranked_by = challenger.slices.get("ranked_by", "")
    pairs = slice_pairs(result)[:SHOWN_SLICES]
    slices = [
        f"| slice ({ranked_by}) | rows | champion | challenger | change |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(f"| {name} | {rows:,} | {old:.4f} | {new:.4f} | {new - old:+.4f} |" for name, old, new, rows in pairs),
    ]
    if not pairs:  # a table header alone reads as a rendering fault
        slices = ["No slice is scored by both models (`evaluate.slices.columns` names none, or none is large enough)."]
    lines = [
        f"# Challenge: {verdict}",
        "",
        f"Champion `{champion.model_version}` against challenger `{challenger.model_version}` on "
        f"`{result.holdout.path}` (md5 `{result.holdout.md5}`): {result.holdout.scored:,} labelled rows both "
        f"accept, of {result.holdout.rows:,}.",
        "",
        *(f"- {reason}" for reason in result.decision.reasons),
        "",
        f"| {result.metric} [interval] | champion | challenger |",
        "| --- | --- | --- |",
        f"| overall | {_interval(champion)} | {_interval(challenger)} |",
        "",
        "| metric | champion | challenger | change |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {m} | {champion.metrics[m]:.4f} | {challenger.metrics[m]:.4f} | "
            f"{challenger.metrics[m] - champion.metrics[m]:+.4f} |"
            for m in metrics
        ),
        "",
        *slices,
        "",
    ]
    return "\n".join(lines)


def metric_figure(result: ChallengeResult, target: Path) -> None:
    """Both models' main metric with its interval, and their slice metric where they differ most."""
    champion, challenger = result.champion, result.challenger
    pairs = slice_pairs(result)[:SHOWN_SLICES]

    def draw(axes: Axes) -> None:
        names = ["overall", *(name for name, _, _, _ in pairs)]
        positions = range(len(names))
        for score, values, offset, marker, colour in (
            (champion, [o for _, o, _, _ in pairs], -0.15, "o", "#7f8c8d"),
            (challenger, [n for _, _, n, _ in pairs], 0.15, "D", "#c0392b"),
        ):
            main = score.main
            ys = [p + offset for p in positions]
            axes.scatter(
                [main.value, *values], ys, marker=marker, color=colour, label=f"{score.role} {score.model_version}"
            )
            if main.value is not None and main.low is not None and main.high is not None:
                error = [[main.value - main.low], [main.high - main.value]]
                axes.errorbar([main.value], [ys[0]], xerr=error, fmt="none", ecolor=colour, capsize=3)
        axes.set_yticks(list(positions), names)
        axes.invert_yaxis()
        per_slice = f", then {challenger.slices.get('ranked_by')} per slice" if pairs else ""
        axes.set_xlabel(f"{result.metric} overall (with its interval){per_slice}")
        axes.legend()

    save_figure(target, f"Champion against challenger: {result.metric}", draw, size=(7, max(3, 0.4 * len(pairs) + 2)))


def write_outputs(result: ChallengeResult, metrics_file: Path, report_dir: Path) -> dict[str, Any]:
    """The report folder (summary.md, metric.png), swapped in whole, then the JSON."""
    with atomic_directory(report_dir) as folder:
        metric_figure(result, folder / "metric.png")
        write_text(summary_markdown(result), folder / "summary.md")
    summary = result.as_json()
    write_json(summary, metrics_file)
    return summary
