"""Benchmark the pipeline on the default data: full and no-op `dvc repro`, per-stage cost.

Run by hand (`make bench`) in a set-up checkout; it rewrites the pipeline's outputs in
place, which is harmless because they are deterministic (dvc.lock does not change).
Prints a Markdown table for the README or an issue note.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench.pipeline")


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--noop-runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stages = list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])

    full, _ = timed(["dvc", "repro", "--force"])
    noop = statistics.median(timed(["dvc", "repro"])[0] for _ in range(args.noop_runs))
    rows = [(stage, *timed([sys.executable, "-m", f"lifecycle.stages.{stage}"])) for stage in stages]

    lines = [
        f"Full `dvc repro --force`: {full:.1f} s wall; no-op `dvc repro`: {noop:.2f} s "
        f"(median of {args.noop_runs}); {os.cpu_count()} cores.",
        "",
        "| stage | wall (s) | peak memory (MiB) |",
        "| --- | ---: | ---: |",
        *(f"| {stage} | {seconds:.1f} | {memory:.0f} |" for stage, seconds, memory in rows),
    ]
    logger.info("%s", "\n".join(lines))


if __name__ == "__main__":
    main()
