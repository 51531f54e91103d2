"""Replay November and December through the real service and monitor it week by week.

    python bench/replay.py                 # every week, then a broken week (about 5 minutes)
    python bench/replay.py --weeks 2       # the first two weeks only

In a set-up checkout after `dvc repro`: starts `python -m lifecycle serve` on a free port of
127.0.0.1 with a fresh SQLite log, sends the test split's flights in time order, a week at a
time, to POST /predict (100 rows per request), posts each flight's real outcome to
POST /feedback, and runs `python -m lifecycle monitor` on the span of that week's replay,
twice: drift against training (the default params) and against the span of the week before
(`--reference-since/--reference-until`). Then it replays the second week again with an input
broken (distance sent in kilometres, as a client with the wrong unit would, rounded to whole
kilometres), judged against the first week, and checks that the monitor names that column. Flights
the bundle's schema refuses (a category never seen in training, under the reject policy) are
counted and not sent. Prints the Markdown table the README shows and draws its figure,
bench/replay.png. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from lifecycle import paths
from lifecycle.logs import configure_logging
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.storage import atomic_path

logger = logging.getLogger("bench.replay")

BATCH_ROWS = 100
LABEL_BATCH = 1000
FIRST_WEEK = pd.Timestamp("2013-11-01", tz="UTC")
BROKEN_COLUMN, KILOMETRES_PER_MILE = "distance", 1.609344
FIGURE = Path("bench/replay.png")  # shown in the README
# What the table calls each alert, by how its sentence starts
ALERT_NAMES = (
    ("dataset drift", "dataset drift"),
    ("column", "column drift"),
    ("prediction drift", "prediction drift"),
    ("live", "main metric"),
    ("slice", "slice"),
)


@dataclass
class Week:
    """One replayed week: what was sent and what the monitor said."""

    name: str
    span: tuple[datetime, datetime]  # when it was replayed: the monitored window
    flights: int
    refused: int
    seconds: float
    summary: dict[str, Any]  # drift against training (the default params)
    against_before: dict[str, Any] | None  # drift against the week replayed before it


class Server:
    """The real service in a subprocess, logging to `log_url`."""

    def __init__(self, log_url: str, port: int) -> None:
        command = [sys.executable, "-m", "lifecycle", "serve", "--port", str(port), "--log-url", log_url]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepted(bundle: Bundle, flights: pd.DataFrame) -> pd.Series:
    """Which flights the bundle's schema accepts (the service would refuse the rest with 422)."""
    return bundle.predict(flights[bundle.input_columns].reset_index(drop=True))["error"].isna().to_numpy()


def replay(client: httpx.Client, bundle: Bundle, flights: pd.DataFrame) -> None:
    """Predict every flight, then send its real outcome as feedback."""
    rows = json.loads(flights[bundle.input_columns].to_json(orient="records", date_format="iso"))
    outcomes = [bundle.classes[int(v)] for v in flights[bundle.metadata.target]]
    labels = []
    for start in range(0, len(rows), BATCH_ROWS):
        answer = client.post("/predict", json=rows[start : start + BATCH_ROWS])
        answer.raise_for_status()
        request_id = answer.json()["request_id"]
        batch = outcomes[start : start + BATCH_ROWS]
        labels += [{"request_id": request_id, "row_index": i, "actual": actual} for i, actual in enumerate(batch)]
    for start in range(0, len(labels), LABEL_BATCH):
        stored = client.post("/feedback", json=labels[start : start + LABEL_BATCH])
        stored.raise_for_status()


def monitor(
    span: tuple[datetime, datetime], log_url: str, folder: Path, reference: tuple[datetime, datetime] | None = None
) -> tuple[int, dict[str, Any]]:
    """Run the monitor command on `span`, against training or against the `reference` span."""
    output = folder / "monitor.json"
    command = [sys.executable, "-m", "lifecycle", "monitor", "--since", span[0].isoformat()]
    command += ["--until", span[1].isoformat(), "--log-url", log_url, "--output", str(output)]
    command += ["--report-dir", str(folder / "report")]
    if reference is not None:
        command += ["--reference-since", reference[0].isoformat(), "--reference-until", reference[1].isoformat()]
    done = subprocess.run(command, capture_output=True, text=True)
    if not output.exists():
        raise RuntimeError(f"the monitor wrote nothing (exit {done.returncode}): {done.stderr[-500:]}")
    return done.returncode, json.loads(output.read_text())


def run_week(
    name: str,
    client: httpx.Client,
    bundle: Bundle,
    flights: pd.DataFrame,
    log_url: str,
    folder: Path,
    before: tuple[datetime, datetime] | None,
) -> Week:
    """Replay a week, then monitor its span against training and against the `before` span."""
    ok = accepted(bundle, flights)
    since = datetime.now(UTC)
    started = time.perf_counter()
    replay(client, bundle, flights[ok])
    seconds = time.perf_counter() - started
    span = (since, datetime.now(UTC))
    code, summary = monitor(span, log_url, folder / name)
    logger.info("%s: %d flights, exit %d: %s", name, int(ok.sum()), code, summary["verdict"])
    against_before = None if before is None else monitor(span, log_url, folder / f"{name} vs before", before)[1]
    if against_before is not None:
        logger.info("%s against the week before: %s", name, against_before["verdict"])
    return Week(name, span, int(ok.sum()), int((~ok).sum()), seconds, summary, against_before)


def drift_cells(summary: dict[str, Any] | None) -> str:
    """`drifted of counted (share) | most drifted | distance's score`, or blanks."""
    if summary is None:
        return "| | |"
    drift = summary["drift"]
    broken = next(c for c in drift["columns"] if c["column"] == BROKEN_COLUMN)
    return (
        f"{drift['drifted']} of {drift['counted']} ({drift['share']:.2f}) | {drift['strongest'] or ''} | "
        f"{broken['score']:.3f}{' (drifted)' if broken['drifted'] else ''}"
    )


def alert_names(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return ""
    return ", ".join(next(n for p, n in ALERT_NAMES if a.startswith(p)) for a in summary["alerts"]) or "none"


def row(week: Week) -> str:
    summary = week.summary
    performance = summary["performance"]["overall"]
    live = f"{performance['value']:.3f} [{performance['low']:.3f}, {performance['high']:.3f}]"
    return (
        f"| {week.name} | {week.flights:,} | {week.refused} | {drift_cells(summary)} | "
        f"{drift_cells(week.against_before)} | {live} | {summary['performance']['test']:.3f} | "
        f"{alert_names(summary)} | {alert_names(week.against_before)} |"
    )


def figure(weeks: list[Week], target: Path) -> None:
    from matplotlib.figure import Figure

    shown = Figure(figsize=(9, 4))
    drift_axes, metric_axes = shown.subplots(1, 2)
    names = [w.name for w in weeks]
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
    args = parser.parse_args()
    configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    bundle = load_bundle(paths.PACKAGE_DIR)
    test = pd.read_parquet(paths.INTERIM_TEST).sort_values("time_hour", kind="stable").reset_index(drop=True)
    week_of = ((test["time_hour"] - FIRST_WEEK) // pd.Timedelta(days=7)).astype(int)
    starts = sorted(week_of.unique())[: args.weeks]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        log_url = f"sqlite:///{folder / 'log.sqlite'}"
        server = Server(log_url, free_port())
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                weeks: list[Week] = []
                for number in starts:
                    start = FIRST_WEEK + pd.Timedelta(days=7 * int(number))
                    before = weeks[-1].span if weeks else None
                    flights = test[week_of == number]
                    weeks.append(run_week(f"{start:%b %d}", client, bundle, flights, log_url, folder, before))
                second = test[week_of == starts[min(1, len(starts) - 1)]]
                kilometres = second.assign(**{BROKEN_COLUMN: (second[BROKEN_COLUMN] * KILOMETRES_PER_MILE).round()})
                broken = run_week(
                    f"{weeks[min(1, len(weeks) - 1)].name}, {BROKEN_COLUMN} in km",
                    client,
                    bundle,
                    kilometres,
                    log_url,
                    folder,
                    weeks[0].span,
                )
        finally:
            server.stop()
    lines = [
        "| week | flights | refused | drifted vs training | most | distance | drifted vs week before | most "
        "| distance | live ROC-AUC [95%] | test | alerts vs training | alerts vs week before |",
        "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- | ---: | --- | --- |",
        *(row(w) for w in [*weeks, broken]),
    ]
    print("\n".join(lines))
    figure([*weeks, broken], FIGURE)
    named = broken.against_before["drift"]["strongest"] if broken.against_before else None
    logger.info("broken week against the week before: most drifted %s; figure: %s", named, FIGURE)


if __name__ == "__main__":
    main()
