"""Replay November and December through the real service and monitor it week by week.

    python bench/replay.py                 # every week, then a broken one (about 10 minutes)
    python bench/replay.py --weeks 5       # the first five weeks only

In a set-up checkout after `dvc repro`: starts `python -m lifecycle serve` on a free port of
127.0.0.1 with a fresh SQLite log and sends the test split's flights in time order, one week
per slot of wall-clock time (`--slot-seconds`), to POST /predict (100 rows per request), then
each flight's real outcome to POST /feedback. A slot stands for a week, so the log's windows
of one slot's length are the replayed weeks: the monitor's history (the windows before) and
previous window are the weeks before. After the last week it sends the second week once more
with an input broken (distance in kilometres, as a client with the wrong unit would, rounded
to whole kilometres). Then it runs `python -m lifecycle monitor` on every slot, twice: with
the default params (drift against training, unusual drift against the weeks before) and
against the slot before (`--reference-since/--reference-until`). Flights the bundle's schema
refuses (a category never seen in training, under the reject policy) are counted and not
sent. Prints the Markdown table the README shows and draws its figure, bench/replay.png.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from live import Server, accepted, alert_names, free_port, monitor, send  # bench/live.py

from lifecycle import paths
from lifecycle.logs import configure_logging
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.storage import atomic_path

logger = logging.getLogger("bench.replay")

FIRST_WEEK = pd.Timestamp("2013-11-01", tz="UTC")
BROKEN_COLUMN, KILOMETRES_PER_MILE = "distance", 1.609344
FIGURE = Path("bench/replay.png")  # shown in the README


@dataclass(frozen=True)
class Sent:
    """One week sent through the service in its slot of wall-clock time."""

    name: str
    span: tuple[datetime, datetime]
    flights: int
    refused: int
    seconds: float


@dataclass
class Week:
    """One replayed week: what was sent and what the monitor said."""

    sent: Sent
    summary: dict[str, Any]  # the default params: drift against training, unusual drift
    against_before: dict[str, Any] | None  # drift against the week replayed before it


def send_week(
    name: str, client: httpx.Client, bundle: Bundle, flights: pd.DataFrame, span: tuple[datetime, datetime]
) -> Sent:
    """Wait for the slot, send the week's flights and outcomes, then wait for the slot's end:
    the log's windows of one slot's length are then exactly the replayed weeks."""
    time.sleep(max(0.0, (span[0] - datetime.now(UTC)).total_seconds()))
    ok = accepted(bundle, flights)
    started = time.perf_counter()
    send(client, bundle, flights[ok])
    seconds = time.perf_counter() - started
    late = (datetime.now(UTC) - span[1]).total_seconds()
    if late > 0:
        raise RuntimeError(f"{name} took {seconds:.0f} s, longer than its slot: pass a larger --slot-seconds")
    logger.info("%s: %d flights sent in %.1f s", name, int(ok.sum()), seconds)
    time.sleep(max(0.0, -late))
    return Sent(name, span, int(ok.sum()), int((~ok).sum()), seconds)


def judge(sent: Sent, before: Sent | None, log_url: str, folder: Path) -> Week:
    """The monitor on the week's slot, against training (default params: history of the slots
    before) and against the slot before."""
    code, summary = monitor(sent.span, log_url, folder / sent.name)
    logger.info("%s: exit %d: %s", sent.name, code, summary["verdict"])
    against_before = None
    if before is not None:
        against_before = monitor(sent.span, log_url, folder / f"{sent.name} vs before", before.span)[1]
        logger.info("%s against the week before: %s", sent.name, against_before["verdict"])
    return Week(sent, summary, against_before)


def drift_cells(summary: dict[str, Any] | None) -> str:
    """`drifted of counted (share) | most drifted | distance's score`, or blanks."""
    if summary is None:
        return "| |"
    drift = summary["drift"]
    broken = next(c for c in drift["columns"] if c["column"] == BROKEN_COLUMN)
    return (
        f"{drift['drifted']} of {drift['counted']} ({drift['share']:.2f}) | {drift['strongest'] or ''} | "
        f"{broken['score']:.3f}{' (drifted)' if broken['drifted'] else ''}"
    )


def row(week: Week) -> str:
    summary = week.summary
    performance = summary["performance"]["overall"]
    live = f"{performance['value']:.3f} [{performance['low']:.3f}, {performance['high']:.3f}]"
    unusual = summary["unusual_drift"]
    shown = ", ".join(c["column"] for c in unusual["columns"]) or ("none" if unusual["history_windows"] >= 2 else "")
    return (
        f"| {week.sent.name} | {week.sent.flights:,} | {week.sent.refused} | {drift_cells(summary)} | "
        f"{drift_cells(week.against_before)} | {shown} | {live} | {summary['performance']['test']:.3f} | "
        f"{alert_names(summary)} | {alert_names(week.against_before)} |"
    )


def figure(weeks: list[Week], target: Path) -> None:
    from matplotlib.figure import Figure

    shown = Figure(figsize=(9, 4))
    drift_axes, metric_axes = shown.subplots(1, 2)
    names = [w.sent.name for w in weeks]
    positions = list(range(len(weeks)))
    drift_axes.bar(positions, [w.summary["drift"]["share"] for w in weeks], color="#2e86c1")
    drift_axes.axhline(0.5, color="black", linestyle="--", linewidth=1)
    drift_axes.set_xticks(positions, names, rotation=45, ha="right")
    drift_axes.set(title="Share of drifted columns", ylim=(0, 1))
    overall = [w.summary["performance"]["overall"] for w in weeks]
    values = [o["value"] for o in overall]
    errors = [[o["value"] - o["low"] for o in overall], [o["high"] - o["value"] for o in overall]]
    metric_axes.errorbar(positions, values, yerr=errors, fmt="o", capsize=4, label="live (95% bootstrap)")
    metric_axes.axhline(weeks[0].summary["performance"]["test"], color="grey", linestyle="--", label="test")
    metric_axes.set_xticks(positions, names, rotation=45, ha="right")
    metric_axes.set(title="Live ROC-AUC per week")
    metric_axes.legend()
    shown.tight_layout()
    with atomic_path(target) as temp:
        shown.savefig(temp, format="png", dpi=100, metadata={"Software": None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weeks", type=int, help="replay only the first N weeks")
    parser.add_argument("--reports", type=Path, help="keep each week's monitor report in this folder")
    parser.add_argument(
        "--slot-seconds", type=float, default=40, help="wall-clock time per replayed week (longer than sending one)"
    )
    args = parser.parse_args()
    configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    bundle = load_bundle(paths.PACKAGE_DIR)
    test = pd.read_parquet(paths.INTERIM_TEST).sort_values("time_hour", kind="stable").reset_index(drop=True)
    week_of = ((test["time_hour"] - FIRST_WEEK) // pd.Timedelta(days=7)).astype(int)
    starts = sorted(week_of.unique())[: args.weeks]
    second = test[week_of == starts[min(1, len(starts) - 1)]]
    weeks_sent = [(f"{FIRST_WEEK + pd.Timedelta(days=7 * int(n)):%b %d}", test[week_of == n]) for n in starts]
    kilometres = second.assign(**{BROKEN_COLUMN: (second[BROKEN_COLUMN] * KILOMETRES_PER_MILE).round()})
    weeks_sent.append((f"{weeks_sent[min(1, len(weeks_sent) - 1)][0]} again, {BROKEN_COLUMN} in km", kilometres))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        log_url = f"sqlite:///{folder / 'log.sqlite'}"
        server = Server(log_url, free_port())
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                slot = timedelta(seconds=args.slot_seconds)
                first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
                sent = [
                    send_week(name, client, bundle, flights, (first + i * slot, first + (i + 1) * slot))
                    for i, (name, flights) in enumerate(weeks_sent)
                ]
        finally:
            server.stop()  # drains the log's queue
        reports = args.reports or folder
        judged = [judge(week, sent[i - 1] if i else None, log_url, reports) for i, week in enumerate(sent)]
    weeks, broken = judged[:-1], judged[-1]
    lines = [
        "| week | flights | refused | drifted vs training | most | distance | drifted vs week before | most "
        "| distance | unusual | live ROC-AUC [95%] | test | alerts vs training | alerts vs week before |",
        "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- | --- | ---: | --- | --- |",
        *(row(w) for w in [*weeks, broken]),
    ]
    print("\n".join(lines))
    figure([*weeks, broken], FIGURE)
    named = broken.against_before["drift"]["strongest"] if broken.against_before else None
    logger.info("broken week against the week before: most drifted %s; figure: %s", named, FIGURE)


if __name__ == "__main__":
    main()
