"""The monitor on a week of 1,000,000 logged predictions: wall time and peak memory.

    python bench/monitor_scale.py                          # build a 1,000,000-row log, monitor it
    python bench/monitor_scale.py --rows 100000            # a smaller log
    python bench/monitor_scale.py --database big.sqlite    # keep the log (reused when it exists)
    python bench/monitor_scale.py --profile monitor.prof   # then the monitor again under cProfile
    python bench/monitor_scale.py --keep out               # keep the monitor's JSON and report

In a set-up checkout after `dvc repro`: validates and scores the test split's flights once
with the service's own request model and scorer, then writes `--rows` predictions drawn
from them (seeded, with repetition) through the service's own `PredictionLog` writer into a
SQLite log, in requests of 100 rows spread over one week, and stores the real outcome of a
`--labelled` share of them through the labels store the service uses. Then it runs the real
command, `python -m lifecycle monitor`, on that week in a subprocess, and reports its wall
time, its CPU time and its peak resident memory (the child's own `ru_utime + ru_stime` and
`ru_maxrss`, from `os.wait4`), with the time of each phase as the monitor logs it. Prints
the Markdown table the README shows. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, inspect, select

from lifecycle import paths
from lifecycle.config import PredictionLogSettings
from lifecycle.logs import configure_logging
from lifecycle.monitoring.labels import Label, LabelStore
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.serving.errors import InputError
from lifecycle.serving.prediction_log import LoggedRequest, PredictionLog, log_engine, log_table
from lifecycle.serving.request_model import RowValidator
from lifecycle.serving.scoring import Scorer

logger = logging.getLogger("bench.monitor_scale")

SINCE = datetime(2013, 11, 4, tzinfo=UTC)  # a Monday; the window is one week: one monitor.window
UNTIL = SINCE + timedelta(days=7)
REQUEST_ROWS = 100  # rows per logged request, as bench/replay.py sends them
WRITE_ROWS = 20_000  # rows handed to the writer at a time, and labels stored per transaction
TABLE, LABELS_TABLE = "predictions", "labels"
# The lines the monitor logs per phase: "monitor phase <name>: <seconds> s"
PHASE = re.compile(r"monitor phase (?P<name>[\w ]+): (?P<seconds>[\d.]+) s")


@dataclass(frozen=True)
class Scored:
    """The distinct flights the log's rows are drawn from, as the service logs them."""

    rows: list[dict[str, Any]]  # validated by the service's request model
    labels: list[Any]
    probabilities: list[float | None]
    unknown: list[list[str]]
    outcomes: list[Any]  # the real outcome, as a label the bundle's classes hold
    refused: int  # flights the request model refuses (not logged)


@dataclass(frozen=True)
class Run:
    """One monitor run: exit code, wall and CPU seconds, peak resident memory, phase seconds."""

    exit_code: int
    seconds: float
    cpu_seconds: float  # user + system: less moved than wall time by other work on the machine
    peak_mib: float
    phases: dict[str, float]
    summary: dict[str, Any]


def score_flights(bundle: Bundle) -> Scored:
    """The test split's flights through the service's request model (one at a time, so a
    refused flight is counted, not its request) and scorer."""
    test = pd.read_parquet(paths.INTERIM_TEST)
    records = json.loads(test[bundle.input_columns].to_json(orient="records", date_format="iso"))
    validator = RowValidator(bundle.schema, bundle.metadata.unknown_category, max_rows=1)
    rows, kept = [], []
    for position, record in enumerate(records):
        try:
            rows += validator.from_python([record])
            kept.append(position)
        except InputError:
            continue
    scorer = Scorer(bundle, fast_path=True)
    labels: list[Any] = []
    probabilities: list[float | None] = []
    unknown: list[list[str]] = []
    for start in range(0, len(rows), 1000):
        scores = scorer.score(rows[start : start + 1000])
        labels += scores.labels
        probabilities += scores.probabilities or [None] * len(scores.labels)
        unknown += scores.flags.unknown_categories
    targets = test[bundle.metadata.target].to_numpy()[kept]
    outcomes = [bundle.classes[int(v)] for v in targets]
    return Scored(rows, labels, probabilities, unknown, outcomes, len(records) - len(rows))


def build_log(url: str, bundle: Bundle, rows: int, labelled: float, seed: int) -> None:
    """Write `rows` predictions of one week through the service's writer, and the outcome of
    a `labelled` share of them through its labels store."""
    scored = score_flights(bundle)
    logger.info("%d distinct flights scored (%d refused by the request model)", len(scored.rows), scored.refused)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(scored.rows), rows)
    requests = -(-rows // REQUEST_ROWS)
    offsets = np.sort(rng.uniform(0, (UNTIL - SINCE).total_seconds(), requests))
    request_ids = [f"{value:032x}" for value in rng.integers(0, 2**63, requests, dtype=np.int64)]
    latencies = rng.gamma(2.0, 1.5, requests)
    writer = PredictionLog(PredictionLogSettings(url=url, table=TABLE, batch_rows=WRITE_ROWS, flush_seconds=1.0))
    version = bundle.metadata.model_version
    started = time.perf_counter()
    for first in range(0, rows, WRITE_ROWS):
        for start in range(first, min(first + WRITE_ROWS, rows), REQUEST_ROWS):
            request = start // REQUEST_ROWS
            picked = drawn[start : min(start + REQUEST_ROWS, rows)].tolist()
            writer.append(
                LoggedRequest(
                    request_id=request_ids[request],
                    logged_at=SINCE + timedelta(seconds=float(offsets[request])),
                    model_version=version,
                    endpoint="/predict",
                    latency_ms=float(latencies[request]),
                    inputs=[scored.rows[row] for row in picked],
                    predictions=[scored.labels[row] for row in picked],
                    unknown_categories=[scored.unknown[row] for row in picked],
                    probabilities=[scored.probabilities[row] for row in picked],
                )
            )
        writer.flush()
    writer.close()
    logger.info("%d predictions logged in %.0f s", rows, time.perf_counter() - started)
    chosen = np.flatnonzero(rng.random(rows) < labelled)
    store = LabelStore(url, LABELS_TABLE, TABLE)
    try:
        for first in range(0, len(chosen), WRITE_ROWS):
            batch = chosen[first : first + WRITE_ROWS].tolist()
            labels = [Label(request_ids[n // REQUEST_ROWS], n % REQUEST_ROWS, scored.outcomes[drawn[n]]) for n in batch]
            store.add(labels, UNTIL)
    finally:
        store.close()
    logger.info("%d labels stored (%.0f%%)", len(chosen), 100 * len(chosen) / rows)


def logged_rows(url: str) -> int:
    """Predictions the log at `url` holds (0: no log yet)."""
    engine = log_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(TABLE):
                return 0
            return int(connection.execute(select(func.sum(log_table(TABLE).c.row_count))).scalar_one() or 0)
    finally:
        engine.dispose()


def run_monitor(url: str, folder: Path, profile: Path | None = None) -> Run:
    """`python -m lifecycle monitor` on the week, in a subprocess: wall time, the child's peak
    RSS (`ru_maxrss` of that process, from wait4), its CPU time and the phase times it logs."""
    output, stderr_file = folder / "monitor.json", folder / "monitor.stderr"
    profiled = ["-m", "cProfile", "-o", str(profile)] if profile else []
    command = [sys.executable, *profiled, "-m", "lifecycle", "monitor", "--since", SINCE.isoformat()]
    command += ["--until", UNTIL.isoformat(), "--log-url", url, "--output", str(output)]
    command += ["--report-dir", str(folder / "report")]
    output.unlink(missing_ok=True)
    with stderr_file.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    log = stderr_file.read_text()
    if not output.exists():
        raise RuntimeError(f"the monitor wrote nothing (exit {process.returncode}): {log[-2000:]}")
    phases = {m["name"]: float(m["seconds"]) for m in PHASE.finditer(log)}
    cpu = usage.ru_utime + usage.ru_stime
    return Run(process.returncode, seconds, cpu, usage.ru_maxrss / 1024, phases, json.loads(output.read_text()))


def table(rows: int, run: Run) -> str:
    """The README's table: the run, then each phase."""
    summary = run.summary
    performance = summary["performance"] or {}
    overall = performance.get("overall", {})
    shown = "" if overall.get("low") is None else f" [{overall['low']:.3f}, {overall['high']:.3f}]"
    lines = [
        "| predictions | labelled | wall s | CPU s | peak RSS MiB | exit | live ROC-AUC |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {rows:,} | {performance.get('labelled', 0):,} | {run.seconds:.1f} | {run.cpu_seconds:.1f} | "
        f"{run.peak_mib:,.0f} | "
        f"{run.exit_code} | {overall.get('value')}{shown} |",
        "",
        "| phase | s |",
        "| --- | ---: |",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in run.phases.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="logged predictions in the week")
    parser.add_argument("--labelled", type=float, default=0.8, help="share of them with a stored outcome")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", type=Path, help="SQLite file of the log; reused when it holds --rows rows")
    parser.add_argument("--profile", type=Path, help="then run the monitor under cProfile, writing its stats here")
    parser.add_argument("--keep", type=Path, help="a folder to keep the monitor's JSON and report in")
    args = parser.parse_args()
    configure_logging()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        database = args.database or folder / "log.sqlite"
        url = f"sqlite:///{database}"
        found = logged_rows(url)
        if found not in (0, args.rows):
            raise SystemExit(f"{database} holds {found} predictions, not --rows {args.rows}: remove it first")
        if found == 0:
            build_log(url, load_bundle(paths.PACKAGE_DIR), args.rows, args.labelled, args.seed)
        logger.info("log: %s, %.0f MiB", database, database.stat().st_size / 2**20)
        outputs = args.keep or folder
        outputs.mkdir(parents=True, exist_ok=True)
        run = run_monitor(url, outputs)
        logger.info(
            "monitor: exit %d in %.1f s (%.1f s CPU), peak RSS %.0f MiB",
            run.exit_code,
            run.seconds,
            run.cpu_seconds,
            run.peak_mib,
        )
        print(table(args.rows, run))
        if args.profile:
            run_monitor(url, outputs, args.profile)
            pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
