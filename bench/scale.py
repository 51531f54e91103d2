"""Benchmark collect, preprocess and featurize on larger synthetic years, on both engines.

The data: the flights of 2013 and copies of them shifted by whole years (copy k: every time
k years later, tail numbers made new by a `-k` suffix, departure and arrival delays moved by
a few whole minutes), with the weather and the planes copied to match; all seeded, so two
runs build the same tables. 1x is the real data, 10x is 3.4 M flights over ten years. The
split's cutoff moves to November of the last year, so test stays the last two months.

Each stage runs as `dvc repro` runs it (`python -m lifecycle.stages.<name>`), in a work
folder holding the synthetic sources and a params.yaml naming them and the engine; its
process tree is sampled every 0.1 s for the peak resident memory of the stage's own process
and, under dask, of its largest worker (a LocalCluster of `--workers` workers limited to
`--memory-limit` each: a worker above the limit is killed and the stage fails). Prints a
Markdown table for the README. Run by hand: it takes minutes, and the 10x size gigabytes.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

from lifecycle.config import load_params
from lifecycle.sources.registry import read_source

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("collect", "preprocess", "featurize")
FIRST_YEAR = 2013
logger = logging.getLogger("bench.scale")


def _later_years(time_hour: pd.Series, years: int) -> pd.Series:
    """ISO UTC times (`2013-01-01T10:00:00Z`) `years` later: the same month, day and hour."""
    return (time_hour.str[:4].astype("int64") + years).astype(str) + time_hour.str[4:]


def _copy(tables: dict[str, pd.DataFrame], years: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    flights, weather, planes = (tables[name].copy() for name in ("flights", "weather", "planes"))
    if years == 0:
        return {"flights": flights, "weather": weather, "planes": planes}
    suffix = f"-{years}"
    for frame in (flights, weather):
        frame["year"] += years
        frame["time_hour"] = _later_years(frame["time_hour"], years)
    flights["tailnum"] = flights["tailnum"] + suffix
    planes["tailnum"] = planes["tailnum"] + suffix
    planes["year"] += years  # the same plane ages, so a copy's plane age matches the original's
    for column in ("dep_delay", "arr_delay"):
        flights[column] += rng.integers(-3, 4, len(flights))  # whole minutes; NaN stays NaN
    return {"flights": flights, "weather": weather, "planes": planes}


def synthetic_tables(size: int, seed: int = 13) -> dict[str, pd.DataFrame]:
    """The default sources at `size` times their rows: 2013 and `size - 1` later copies."""
    sources = load_params(ROOT / "params.yaml").sources
    real = {name: read_source(sources[name]) for name in ("flights", "weather", "planes")}
    rng = np.random.default_rng(seed)
    copies = [_copy(real, years, rng) for years in range(size)]
    return {name: pd.concat([c[name] for c in copies], ignore_index=True) for name in real}


def prepare_folder(folder: Path, size: int, engine: str, workers: int, memory_limit: str) -> None:
    """The synthetic sources in `folder`/sources and a params.yaml reading them with `engine`."""
    sources = folder / "sources"
    if not sources.is_dir():
        sources.mkdir(parents=True)
        for name, frame in synthetic_tables(size).items():
            frame.to_parquet(sources / f"{name}.parquet", index=False)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for name in ("flights", "weather", "planes"):
        params["sources"][name] = {"kind": "parquet", "path": str(sources / f"{name}.parquet")}
    params["engine"].update({"name": engine, "workers": workers, "memory_limit": memory_limit})
    params["preprocess"]["split"]["cutoff"] = f"{FIRST_YEAR + size - 1}-11-01"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


class PeakMemory:
    """Peak resident memory (MiB) of a process and of its largest descendant, sampled."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.own = 0.0
        self.largest_child = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.own = max(self.own, self.process.memory_info().rss / 2**20)
                children = self.process.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            for child in children:
                try:
                    self.largest_child = max(self.largest_child, child.memory_info().rss / 2**20)
                except psutil.NoSuchProcess:
                    continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_stage(stage: str, folder: Path) -> tuple[float, float, float]:
    """Wall seconds, the stage process's peak MiB and its largest worker's peak MiB."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    log = (folder / f"{stage}.log").open("w")
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"lifecycle.stages.{stage}"], cwd=folder, env=env, stdout=log, stderr=log
    )
    peak = PeakMemory(process.pid)
    code = process.wait()
    elapsed = time.perf_counter() - start
    peak.stop()
    if code != 0:
        raise SystemExit(f"{stage} failed in {folder} (see {stage}.log)")
    return elapsed, peak.own, peak.largest_child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--engines", nargs="+", default=["pandas", "dask"], choices=["pandas", "dask"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "lifecycle-bench-scale")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    for size in args.sizes:
        for engine in args.engines:
            folder = args.folder / f"{size}x-{engine}"
            folder.mkdir(parents=True, exist_ok=True)
            source = args.folder / f"{size}x-pandas" / "sources"
            if source.is_dir() and not (folder / "sources").exists():
                (folder / "sources").symlink_to(source)  # built once per size
            prepare_folder(folder, size, engine, args.workers, args.memory_limit)
            for stage in STAGES:
                seconds, own, worker = run_stage(stage, folder)
                rows.append((size, engine, stage, seconds, own, worker))
                logger.info("%dx %s %s: %.1f s, %.0f MiB (largest worker %.0f MiB)", *rows[-1])
    load = os.getloadavg()[0]
    lines = [
        f"{os.cpu_count()} cores; 1-minute load average at the end: {load:.2f}. Workers (dask): "
        f"{args.workers} x {args.memory_limit}.",
        "",
        "| size | engine | stage | wall (s) | peak, stage process (MiB) | peak, largest worker (MiB) |",
        "| --- | --- | --- | ---: | ---: | ---: |",
        *(
            f"| {size}x | {engine} | {stage} | {seconds:.1f} | {own:.0f} | {f'{worker:.0f}' if worker else '-'} |"
            for size, engine, stage, seconds, own, worker in rows
        ),
    ]
    logger.info("%s", "\n".join(lines))


if __name__ == "__main__":
    main()
