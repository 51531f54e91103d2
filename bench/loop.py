"""The retraining loop on 2013, month by month, beside a model that is never retrained.

    python bench/loop.py                          # July to December
    python bench/loop.py --months 7 8             # July and August only
    python bench/loop.py --rows-per-month 10000   # train on a seeded sample of each known month

Run in a set-up checkout after `dvc repro`: the flights it sends are the default pipeline's
data/interim/ rows (every month, with the context features computed from the past only). It
uses the project's own commands, as CI and a user would, in a scratch clone of HEAD with its
own DVC cache and registry:

1. Months known: `sources.flights.known_before` is the first day of July and
   `preprocess.split.cutoff` the first of June, so the pipeline trains on January to May and
   tests on June (the newest known month is always the test split, which is also the
   challenge's holdout). `dvc repro`, commit, and the first model is deployed by hand as the
   README says (`gto register`, `gto assign --stage prod`). This model is also the frozen one.
2. `python -m lifecycle serve` serves it (SQLite log, admin token set).
3. For each month: its flights that the champion's schema accepts go to POST /predict in
   100-row requests and their real outcomes to POST /feedback; `python -m lifecycle monitor`
   judges the span they were sent in (live ROC-AUC with its interval, drift, alerts); the
   frozen bundle scores the same flights in-process (`Bundle.predict`, the answers the service
   would give). Then, except after the last month: the known months move by one
   (known_before = the next month, cutoff = this month), `dvc repro`, commit, `python -m
   lifecycle challenge --champion-stage prod` (both models on this month's flights), and on a
   win `python -m lifecycle promote` and POST /admin/reload with the new bundle copied beside
   the served one; on a loss the champion keeps serving.
4. Prints the Markdown table the README shows and draws its figure, bench/loop.png.

With `--rows-per-month N` collect keeps a seeded sample of N flights per known month (the
context features of the served flights are still counted on the whole schedule). Nothing
here is a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml
from live import Server, alert_names, free_port, monitor, send  # bench/live.py
from sklearn.metrics import roc_auc_score

from lifecycle import paths
from lifecycle.logs import configure_logging
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.retraining.registry import stage_version
from lifecycle.serving.reload import ADMIN_TOKEN
from lifecycle.storage import atomic_path

logger = logging.getLogger("bench.loop")

ROOT = Path(__file__).resolve().parents[1]
FIGURE = Path("bench/loop.png")  # shown in the README
YEAR = 2013
FIRST_SERVED = 7  # January to June are known when the loop starts
TOKEN = "retraining-loop"  # the admin token of the scratch service, which listens on 127.0.0.1 only


def month_start(month: int) -> str:
    """The first day of `month` of 2013 (13: the next January)."""
    return f"{YEAR + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-01"


@dataclass
class Month:
    """One served month: what was sent, how the champion and the frozen model did, what the
    monitor said and what the retraining after it decided."""

    month: int
    champion: str  # the registry version and model version that served it, e.g. v0.0.2 (37d4ade98344)
    sent: int  # the flights the champion's schema accepts
    live: dict[str, Any]  # the monitor's overall live metric: value, low, high
    frozen: float  # the frozen model's ROC-AUC on the same flights
    drift_share: float
    alerts: str  # the monitor's alerts by their short names
    decision: str = ""  # after the month: promoted vX / refused: why / (last month)
    challenge: dict[str, Any] | None = None
    seconds: dict[str, float] | None = None


class Workspace:
    """The scratch clone the loop retrains in: its params, pipeline, commits and registry."""

    def __init__(self, folder: Path, rows_per_month: int | None) -> None:
        self.path = folder / "repo"
        self.rows_per_month = rows_per_month
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(self.path)], check=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.path / "src"),  # the clone's code, which is HEAD's
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "OMP_NUM_THREADS": "1",
        }
        self.run("git", "config", "user.name", "retraining loop")
        self.run("git", "config", "user.email", "loop@localhost")

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(command, cwd=self.path, env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done

    def know_until(self, month: int) -> None:
        """Months before `month` are known; the last of them is the test split."""
        params_file = self.path / "params.yaml"
        params = yaml.safe_load(params_file.read_text())
        flights = params["sources"][params["preprocess"]["base"]]
        flights["known_before"] = {"column": "time_hour", "date": month_start(month)}
        if self.rows_per_month is not None:
            flights["sample_rows"] = self.rows_per_month * (month - 1)
        params["preprocess"]["split"]["cutoff"] = month_start(month - 1)
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))

    def retrain(self, month: int) -> float:
        """Know the months before `month`, `dvc repro`, commit; returns the seconds it took."""
        started = time.perf_counter()
        self.know_until(month)
        self.run("dvc", "repro", "--quiet")
        self.run("git", "add", "-A")
        self.run("git", "commit", "--quiet", "-m", f"Known: the months before {month_start(month)}")
        seconds = time.perf_counter() - started
        logger.info("retrained on the months before %s in %.0f s", month_start(month), seconds)
        return seconds

    def bundle_copy(self, target: Path) -> Path:
        """The workspace's packaged bundle copied to `target` (beside the served one)."""
        shutil.copytree(self.path / paths.PACKAGE_DIR, target)
        return target


def scored(bundle: Bundle, flights: pd.DataFrame) -> tuple[float, np.ndarray]:
    """A bundle's ROC-AUC on the flights its schema accepts, scored in-process (the answers
    the service gives), and which flights those are."""
    answers = bundle.predict(flights[bundle.input_columns].reset_index(drop=True))
    ok = answers["error"].isna().to_numpy()
    actual = flights[bundle.metadata.target].to_numpy()[ok]
    return float(roc_auc_score(actual, answers["probability"].to_numpy()[ok])), ok


def serve_month(flights: pd.DataFrame, champion: Bundle, client: httpx.Client) -> tuple[datetime, datetime]:
    """Send the flights and their outcomes; the wall-clock span they were sent in."""
    began = datetime.now(UTC)
    send(client, champion, flights)
    time.sleep(1.0)  # the log writes within serve.log.flush_seconds: let the last rows land
    return began, datetime.now(UTC)


def challenge_and_promote(
    work: Workspace, client: httpx.Client, bundles: Path
) -> tuple[str, dict[str, Any], Bundle | None]:
    """Challenge prod with the retrained bundle; on a win promote it and hot-reload the service.
    Returns the decision's words, the challenge's JSON and the new champion (None: unchanged)."""
    done = work.run("python", "-m", "lifecycle", "challenge", "--champion-stage", "prod", check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"the challenge was not judged ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads((work.path / paths.CHALLENGE_METRICS).read_text())
    if done.returncode == 1:
        return f"refused: {result['decision']['reasons'][0]}", result, None
    work.run("python", "-m", "lifecycle", "promote")
    version = result["challenger"]["model_version"]
    folder = work.bundle_copy(bundles / version)
    registered = stage_version(work.path, "prod").version
    reloaded = client.post(
        "/admin/reload", json={"bundle": str(folder)}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
    )
    if reloaded.status_code != 200:
        raise RuntimeError(f"the reload was refused ({reloaded.status_code}): {reloaded.text}")
    logger.info("promoted %s (%s) and reloaded it", registered, version)
    return f"promoted {registered}", result, load_bundle(folder)


def run_loop(months: list[int], rows_per_month: int | None, folder: Path, flights: pd.DataFrame) -> list[Month]:
    work = Workspace(folder, rows_per_month)
    bundles = folder / "bundles"
    first_seconds = work.retrain(months[0])
    work.run("gto", "register", "model", "HEAD")
    work.run("gto", "assign", "model", "HEAD", "--stage", "prod")
    frozen = load_bundle(work.bundle_copy(folder / "frozen"))
    champion_dir = work.bundle_copy(bundles / frozen.metadata.model_version)
    champion = load_bundle(champion_dir)
    log_url = f"sqlite:///{folder / 'log.sqlite'}"
    environment = {ADMIN_TOKEN: TOKEN, "PYTHONPATH": work.env["PYTHONPATH"]}
    server = Server(log_url, free_port(), ("--bundle", str(champion_dir)), cwd=work.path, env=environment)
    served: list[Month] = []
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for month in months:
                started = time.perf_counter()
                rows = flights[flights["served_month"] == month].drop(columns="served_month")
                offline, ok = scored(champion, rows)
                span = serve_month(rows[ok], champion, client)
                serving = time.perf_counter() - started
                options = ("--bundle", str(bundles / champion.metadata.model_version))
                _, summary = monitor(span, log_url, folder / f"monitor-{month:02d}", options=options, cwd=work.path)
                frozen_auc, _ = scored(frozen, rows)
                overall = summary["performance"]["overall"]
                if abs(offline - overall["value"]) > 1e-3:
                    logger.error(
                        "the monitor's live ROC-AUC %.4f is not the served answers' %.4f", overall["value"], offline
                    )
                record = Month(
                    month,
                    f"{stage_version(work.path, 'prod').version} ({champion.metadata.model_version})",
                    int(ok.sum()),
                    overall,
                    frozen_auc,
                    summary["drift"]["share"],
                    alert_names(summary),
                )
                logger.info(
                    "%s: %d flights, live ROC-AUC %.4f (frozen %.4f), drift share %.2f, alerts: %s",
                    month_start(month),
                    record.sent,
                    overall["value"],
                    frozen_auc,
                    record.drift_share,
                    record.alerts,
                )
                seconds = {"serve": serving, "retrain": 0.0, "challenge": 0.0}
                if month != months[-1]:
                    seconds["retrain"] = work.retrain(month + 1)
                    began = time.perf_counter()
                    record.decision, record.challenge, promoted = challenge_and_promote(work, client, bundles)
                    seconds["challenge"] = time.perf_counter() - began
                    champion = promoted or champion
                    logger.info("after %s: %s", month_start(month), record.decision)
                record.seconds = seconds
                served.append(record)
    finally:
        server.stop()
    served[0].seconds = {**(served[0].seconds or {}), "first training": first_seconds}
    return served


def table(months: list[Month]) -> str:
    lines = [
        "| month | served by | flights | live ROC-AUC [95%] | frozen ROC-AUC | drifted share | alerts "
        "| challenge on this month: champion vs challenger | decision |",
        "| --- | --- | ---: | --- | ---: | ---: | --- | --- | --- |",
    ]
    for m in months:
        live = f"{m.live['value']:.3f} [{m.live['low']:.3f}, {m.live['high']:.3f}]"
        duel = ""
        if m.challenge is not None:
            metric = m.challenge["metric"]
            champion, challenger = (m.challenge[role]["metrics"][metric] for role in ("champion", "challenger"))
            duel = f"{champion:.3f} vs {challenger:.3f}"
        lines.append(
            f"| {datetime(YEAR, m.month, 1):%B} | {m.champion} | {m.sent:,} | {live} | {m.frozen:.3f} | "
            f"{m.drift_share:.2f} | {m.alerts} | {duel} | {m.decision or '(last month)'} |"
        )
    return "\n".join(lines)


def figure(months: list[Month], target: Path) -> None:
    from matplotlib.figure import Figure

    shown = Figure(figsize=(9, 4))
    metric_axes, drift_axes = shown.subplots(1, 2)
    names = [f"{datetime(YEAR, m.month, 1):%b}" for m in months]
    positions = list(range(len(months)))
    values = [m.live["value"] for m in months]
    errors = [[m.live["value"] - m.live["low"] for m in months], [m.live["high"] - m.live["value"] for m in months]]
    metric_axes.errorbar(positions, values, yerr=errors, fmt="o-", capsize=4, label="loop (live, 95% bootstrap)")
    metric_axes.plot(positions, [m.frozen for m in months], "s--", color="grey", label="frozen (Jan-May)")
    for position, (before, m) in enumerate(zip(months, months[1:], strict=False), start=1):
        if m.champion != before.champion:  # served by the model promoted after the month before
            version = m.champion.split()[0]
            metric_axes.annotate(
                version, (position, m.live["high"]), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8
            )
    metric_axes.set_xticks(positions, names)
    metric_axes.set(title="ROC-AUC per month (vX: newly promoted)", ylabel="ROC-AUC")
    metric_axes.legend(fontsize=8, loc="lower left")
    drift_axes.bar(
        positions,
        [m.drift_share for m in months],
        color=["#c0392b" if m.alerts != "none" else "#2e86c1" for m in months],
    )
    drift_axes.axhline(0.5, color="black", linestyle="--", linewidth=1)
    drift_axes.set_xticks(positions, names)
    drift_axes.set(title="Share of drifted columns (red: an alert)", ylim=(0, 1))
    shown.tight_layout()
    with atomic_path(target) as temp:
        shown.savefig(temp, format="png", dpi=100, metadata={"Software": None})


def year_of_flights() -> pd.DataFrame:
    """Every labelled flight of the default pipeline's split, with the month it is served in
    (by `time_hour`, in UTC, as the time split and `known_before` read it)."""
    flights = pd.concat([pd.read_parquet(paths.INTERIM_TRAIN), pd.read_parquet(paths.INTERIM_TEST)])
    flights = flights.sort_values("time_hour", kind="stable").reset_index(drop=True)
    return flights.assign(served_month=flights["time_hour"].dt.tz_convert("UTC").dt.month)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, nargs="+", default=list(range(FIRST_SERVED, 13)), help="months to serve")
    parser.add_argument("--rows-per-month", type=int, help="train on a seeded sample of this many flights per month")
    parser.add_argument("--keep", type=Path, help="keep the scratch clone, log and reports in this new folder")
    args = parser.parse_args()
    configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    months = sorted(args.months)
    if months != list(range(months[0], months[-1] + 1)) or months[0] < 2:
        parser.error("--months must be consecutive months from February on")
    if subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0:
        logger.warning("uncommitted changes are not in the loop: it clones HEAD")
    started = time.perf_counter()
    flights = year_of_flights()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        served = run_loop(months, args.rows_per_month, folder, flights)
    print(table(served))
    figure(served, FIGURE)
    totals = {
        k: sum((m.seconds or {}).get(k, 0.0) for m in served)
        for k in ("first training", "serve", "retrain", "challenge")
    }
    logger.info(
        "%.0f s in all: %s", time.perf_counter() - started, ", ".join(f"{k} {v:.0f} s" for k, v in totals.items())
    )


if __name__ == "__main__":
    main()
