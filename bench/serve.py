"""Serving benchmark: our server vs MLflow's, same fitted pipeline, same load generator, 127.0.0.1.

    python bench/serve.py            # latency/throughput table (about 3 minutes plus MLflow install)
    python bench/serve.py --soak     # 64 clients for 60 s: errors, logged rows, memory

MLflow is not a project dependency: it is installed by this script into its own virtual
environment (bench/.venv-mlflow, git-ignored) together with this project, so it unpickles
the very same `models/package/pipeline.joblib`, which it serves with
`mlflow models serve --env-manager local` (one worker, like ours). Both servers run with
OMP_NUM_THREADS=1 (OpenMP threads only fight over a shared 2-core machine) and are
driven by the same minimal keep-alive HTTP/1.1 load generator, so the client costs the
same for both. Runs are bounded by time; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# Before numpy and scikit-learn load: OpenMP worker threads only fight over a shared 2-core machine.
os.environ["OMP_NUM_THREADS"] = "1"

import pandas as pd  # noqa: E402

from lifecycle.logs import configure_logging  # noqa: E402
from lifecycle.packaging.bundle import load_bundle  # noqa: E402

logger = logging.getLogger("bench.serve")

BUNDLE = ROOT / "models/package"
MLFLOW_ENV = ROOT / "bench/.venv-mlflow"
MLFLOW_VERSION = "3.17.2"
SERVER_ENV = dict(os.environ)
PIPELINE_PINS = ("scikit-learn", "numpy", "pandas", "scipy", "joblib", "pydantic", "PyYAML")

EXPORT_MLFLOW_MODEL = """
import sys
from pathlib import Path
import pandas as pd
import mlflow.sklearn
from mlflow.models import infer_signature
from lifecycle.bundle import load_bundle
bundle = load_bundle(Path(sys.argv[1]))
sample = pd.read_parquet(sys.argv[3])[bundle.input_columns]
sample["time_hour"] = sample["time_hour"].dt.tz_convert("UTC").dt.tz_localize(None)  # MLflow: naive only
signature = infer_signature(sample, bundle.pipeline.predict_proba(sample))
mlflow.sklearn.save_model(bundle.pipeline, sys.argv[2], signature=signature, pyfunc_predict_fn="predict_proba",
                         serialization_format="cloudpickle")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mlflow_python() -> Path:
    """The MLflow environment's interpreter, created and installed on first use."""
    python = MLFLOW_ENV / "bin/python"
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    if not (MLFLOW_ENV / "bin/mlflow").exists():
        logger.info("installing mlflow==%s into %s (once)", MLFLOW_VERSION, MLFLOW_ENV)
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_ENV)], check=True)
        # The pipeline's own libraries at the project's pins (so the pickle loads identically);
        # the rest (e.g. pyarrow) at whatever MLflow needs. The project itself without deps.
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"mlflow=={MLFLOW_VERSION}",
                *(f"{name}=={pins[name]}" for name in PIPELINE_PINS),
            ],
            check=True,
            cwd=ROOT,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)], check=True, cwd=ROOT
        )
    return python


def wait_until_up(port: int, process: subprocess.Popen, path: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                if b" 200 " in connection.recv(200):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server on port {port} did not come up")


def start_ours(port: int, log_url: str, *options: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "lifecycle",
        "serve",
        "--bundle",
        str(BUNDLE),
        "--port",
        str(port),
        "--log-url",
        log_url,
        *options,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=SERVER_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(port, process, "/ready")
    return process


def start_mlflow(port: int, model: Path) -> subprocess.Popen:
    command = [
        str(MLFLOW_ENV / "bin/mlflow"),
        "models",
        "serve",
        "-m",
        str(model),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        "1",
    ]
    # MLflow starts `uvicorn` from PATH: it must be the one of MLflow's environment.
    env = {**SERVER_ENV, "PATH": f"{MLFLOW_ENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(port, process, "/ping")
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


# --- load generator ----------------------------------------------------------------


def http_post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Run:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def _worker(port: int, payloads: list[bytes], offset: int, stop_at: float, run: Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = offset
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(payloads[n % len(payloads)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            run.latencies.append(time.perf_counter() - started)
            run.requests += 1
            if not head.startswith(b"HTTP/1.1 200"):
                run.errors += 1
            n += 1
    finally:
        writer.close()


def load(port: int, payloads: list[bytes], concurrency: int, seconds: float, warmup: float = 1.5) -> Run:
    """Closed-loop load: `concurrency` keep-alive connections, each sending back to back."""

    async def main() -> Run:
        warm = Run(0, 0, 0, [])
        await asyncio.gather(
            *(_worker(port, payloads, i, time.perf_counter() + warmup, warm) for i in range(concurrency))
        )
        run = Run(0, 0, seconds, [])
        started = time.perf_counter()
        await asyncio.gather(*(_worker(port, payloads, i * 13, started + seconds, run) for i in range(concurrency)))
        run.seconds = time.perf_counter() - started
        return run

    return asyncio.run(main())


# --- the benchmark -----------------------------------------------------------------


def rows_for_requests(count: int) -> pd.DataFrame:
    """Raw test rows with training categories only (valid under the reject policy)."""
    bundle = load_bundle(BUNDLE)
    test = pd.read_parquet(ROOT / "data/interim/test.parquet")[bundle.input_columns]
    keep = pd.Series(True, index=test.index)
    for column in bundle.schema["columns"]:
        if column["kind"] == "categorical":
            keep &= test[column["name"]].isna() | test[column["name"]].isin(column["categories"])
    return test[keep].head(count).reset_index(drop=True)


def payloads(rows: pd.DataFrame, size: int, ours: bool) -> list[bytes]:
    bodies = []
    if not ours:  # MLflow's schema enforcement takes naive datetimes only (these are UTC)
        rows = rows.assign(time_hour=rows["time_hour"].dt.tz_convert("UTC").dt.tz_localize(None))
    for start in range(0, len(rows) - size + 1, size):
        chunk = json.loads(rows.iloc[start : start + size].to_json(orient="split", index=False, date_format="iso"))
        if ours:
            records = [dict(zip(chunk["columns"], values)) for values in chunk["data"]]
            body = json.dumps(records[0] if size == 1 else records).encode()
            bodies.append(http_post("/predict", body))
        else:
            bodies.append(http_post("/invocations", json.dumps({"dataframe_split": chunk}).encode()))
    return bodies


def in_process(rows: pd.DataFrame, size: int, seconds: float = 5.0) -> dict[str, float]:
    """The floor: the bundle's predict (and the compiled fast path) called directly."""
    from lifecycle.serving.fast_path import compile_fast_path
    from lifecycle.serving.request_model import RowValidator

    bundle = load_bundle(BUNDLE)
    fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
    validator = RowValidator(bundle.schema, "accept", 1000)
    batches = [rows.iloc[i : i + size] for i in range(0, len(rows) - size + 1, size)]
    records = [validator.from_python(json.loads(b.to_json(orient="records", date_format="iso"))) for b in batches]
    results = {}
    for name, call in (
        ("bundle.predict", lambda i: bundle.predict(batches[i])),
        ("fast path", lambda i: fast.scores(records[i])),
    ):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            call(count % len(batches))
            count += 1
        results[name] = (time.perf_counter() - started) / count
    return results


def measure(port: int, bodies: dict[str, list[bytes]], seconds: float) -> dict[str, Run]:
    return {
        "single c=1": load(port, bodies["single"], 1, seconds),
        "single c=8": load(port, bodies["single"], 8, seconds),
        "batch100 c=2": load(port, bodies["batch"], 2, seconds),
    }


def row(name: str, run: Run, rows_per_request: int) -> str:
    rate = run.requests / run.seconds
    return (
        f"| {name} | {rate:,.0f} req/s | {rate * rows_per_request:,.0f} rows/s | {run.percentile(0.5):.2f} | "
        f"{run.percentile(0.99):.2f} | {run.errors} |"
    )


def benchmark(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as temp:
        rows = rows_for_requests(2000)
        model = Path(temp) / "mlflow-model"
        subprocess.run(
            [
                str(mlflow_python()),
                "-c",
                EXPORT_MLFLOW_MODEL,
                str(BUNDLE),
                str(model),
                str(ROOT / "data/interim/test.parquet"),
            ],
            check=True,
            cwd=ROOT,
            env=SERVER_ENV,
        )
        results: dict[str, dict[str, Run]] = {}
        for name, start, ours in (
            ("ours", lambda p: start_ours(p, f"sqlite:///{temp}/log.sqlite"), True),
            ("mlflow", lambda p: start_mlflow(p, model), False),
        ):
            port = free_port()
            process = start(port)
            try:
                bodies = {"single": payloads(rows, 1, ours), "batch": payloads(rows, 100, ours)}
                results[name] = measure(port, bodies, seconds)
            finally:
                stop(process)
        floor = {size: in_process(rows, size) for size in (1, 100)}
    print(
        "\n| server, load | throughput | rows/s | p50 ms | p99 ms | errors |"
        "\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, runs in results.items():
        for load_name, run in runs.items():
            print(row(f"{name}, {load_name}", run, 100 if load_name.startswith("batch") else 1))
    for size, timings in floor.items():
        for name, seconds_per_call in timings.items():
            print(
                f"| in-process {name}, {size} row(s) | {1 / seconds_per_call:,.0f} calls/s | "
                f"{size / seconds_per_call:,.0f} rows/s | "
                f"{seconds_per_call * 1000:.2f} | | |"
            )
    ours, theirs = results["ours"], results["mlflow"]
    single = (
        ours["single c=8"].requests
        / ours["single c=8"].seconds
        / (theirs["single c=8"].requests / theirs["single c=8"].seconds)
    )
    single1 = (
        ours["single c=1"].requests
        / ours["single c=1"].seconds
        / (theirs["single c=1"].requests / theirs["single c=1"].seconds)
    )
    p99 = ours["single c=8"].percentile(0.99) / theirs["single c=8"].percentile(0.99)
    batch_rows = ours["batch100 c=2"].requests * 100 / ours["batch100 c=2"].seconds
    print(f"\nsingle-row throughput vs MLflow: {single1:.1f}x at c=1, {single:.1f}x at c=8 (target >= 3x)")
    print(f"p99 vs MLflow at c=8: {p99:.2f} (target <= 0.33)")
    print(
        "100-row batches vs in-process bundle.predict: "
        f"{batch_rows / (100 / floor[100]['bundle.predict']):.0%} (target >= 80%)"
    )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak(clients: int, seconds: float) -> None:
    """Many clients for a while: no errors, every prediction logged, memory stable."""
    from lifecycle.serving.prediction_log import read_prediction_log

    with tempfile.TemporaryDirectory() as temp:
        url = f"sqlite:///{temp}/log.sqlite"
        port = free_port()
        process = start_ours(port, url)
        bodies = payloads(rows_for_requests(2000), 1, ours=True)
        samples = [rss_mib(process.pid)]
        runs = []
        for _ in range(4):  # four quarters, the server's memory sampled after each
            runs.append(load(port, bodies, clients, seconds / 4, warmup=0))
            samples.append(rss_mib(process.pid))
        stop(process)
        logged = len(read_prediction_log(url))
    requests = sum(r.requests for r in runs)
    errors = sum(r.errors for r in runs)
    print(f"soak: {clients} clients, {seconds:.0f} s: {requests} requests, {errors} errors, {logged} rows logged")
    print("server RSS MiB at start and after each quarter: " + ", ".join(f"{m:.0f}" for m in samples))
    print(
        f"p50 {statistics.median(r.percentile(0.5) for r in runs):.1f} ms, "
        f"worst p99 {max(r.percentile(0.99) for r in runs):.1f} ms"
    )
    if errors or logged != requests:
        raise SystemExit("soak failed: errors or lost log rows")


def main() -> None:
    configure_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--soak", action="store_true", help="run the 64-client, 60 s soak instead")
    parser.add_argument("--setup", action="store_true", help="only create the MLflow environment")
    args = parser.parse_args()
    if args.setup:
        mlflow_python()
    elif args.soak:
        soak(64, 60.0)
    else:
        benchmark(args.seconds)


if __name__ == "__main__":
    main()
