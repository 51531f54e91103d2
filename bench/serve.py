"""Serving benchmark: our server vs MLflow's, same fitted pipeline, same load generator, 127.0.0.1.

    python bench/serve.py                    # every task, ours at 1 and 2 workers and MLflow (about 10 minutes)
    python bench/serve.py --tasks binary     # the flights bundle only
    python bench/serve.py --ratio            # 100-row batches through HTTP vs the in-process floor, in turns
    python bench/serve.py --soak             # 64 clients for 60 s: errors, logged rows, memory
    python bench/serve.py --shadow           # our server without and with a shadow model (serve.shadow)
    python bench/serve.py --profile          # where a 100-row request's server CPU goes, stage by stage (flights)
    python bench/serve.py --versus HEAD~3    # this checkout's server against another commit's, side by side
    python bench/serve.py --parts            # what each part of a 100-row request costs the running server
    python bench/serve.py --ratio --off log  # --ratio with a part of the request path switched off (a trial build)

Every task of the gradient-boosting family: the flights bundle the pipeline packaged
(binary), and bundles the pipeline's own stages package, in a temporary folder, from
scikit-learn's wine (multiclass) and diabetes (regression) tables (`lifecycle.sources.examples`,
the tables the serving tests package too; the models are trained with the default train
settings).

MLflow is not a project dependency: it is installed by this script into its own virtual
environment (bench/.venv-mlflow, git-ignored) together with this project, so it unpickles
the very same fitted pipeline, which it serves with `mlflow models serve --env-manager
local` (one worker). Our server runs with `--workers` 1 and 2. All servers run with
OMP_NUM_THREADS=1 (OpenMP threads only fight over a shared 2-core machine) and are driven
by the same minimal keep-alive HTTP/1.1 load generator, in this process, so the client costs
the same for both and shares the machine's cores with the server. Beside throughput and
latency, each line gives the server's CPU time per request (its whole process tree: workers
and threads, from /proc; for the in-process lines, the calling process's CPU time per
call), which other work on a shared machine disturbs far less than throughput, the load
generator's CPU time per request (what the client takes from the same cores), and the
machine's 1-minute load average when its run ended. Runs are bounded by time; nothing here
is a test.

The in-process lines are the floor, called on already validated rows in this process, one
thread: the bundle's `predict` and the compiled fast path the server itself builds, with
params.yaml's `serve.engine` (onnxruntime by default), so `--ratio` compares like for like.

`--profile` splits the server's CPU time per 100-row flights request into its stages: each
stage timed in this process through the service's own objects (CPU time per call, the log
writer's thread included), the HTTP floor (uvicorn and FastAPI answering the same bodies
from an empty route, in a server of its own), and the rest: the server's measured CPU per
request (one worker, two clients) minus all of these (the access log line, FastAPI's
routing and middleware, handing the batch to a thread and back, threads taking turns at
the GIL).

`--versus REV` measures a change to the server: this checkout's server and REV's (a git
worktree in a temporary folder, on the same bundle) run at once, each loaded by four
clients sending 100-row flights batches, for `--rounds` rounds of `--seconds`. Both see the
same machine at the same moment, so its speed swings cancel in the ratio of their CPU per
request: two identical servers measured 1.006 (0.98-1.02), where rounds taken one after
the other swing by 15 %.

`--parts` measures the same way what each part of the request path costs the running
server: beside the full server, a trial build of it with one part switched off (`PARTS`),
and one with all of them off but HTTP and the model; the difference of their CPU per
request is that part's cost. Why not `--profile`'s loops: in the server the log and
validation cost about twice what they cost called in a loop (0.67 ms against 0.35, 0.64
against 0.26-0.36), the model 1.2 times, their data no longer in the caches and the cores
shared with everything else. A trial build is this checkout's code with a `sitecustomize` module
on PYTHONPATH that replaces the part (every worker process loads it); `--ratio --off
PART,...` measures the throughput share of such a build.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# Before numpy and scikit-learn load: OpenMP worker threads only fight over a shared 2-core machine.
os.environ["OMP_NUM_THREADS"] = "1"

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from lifecycle.config import load_params  # noqa: E402
from lifecycle.logs import configure_logging  # noqa: E402
from lifecycle.packaging.bundle import load_bundle  # noqa: E402
from lifecycle.sources.examples import diabetes_frame, wine_frame  # noqa: E402

logger = logging.getLogger("bench.serve")

BUNDLE = ROOT / "models/package"
STAGES = ("collect", "preprocess", "featurize", "search", "train", "evaluate", "package")
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
from lifecycle.packaging.bundle import load_bundle
bundle = load_bundle(Path(sys.argv[1]))
sample = pd.read_parquet(sys.argv[3])[bundle.input_columns]
for name in sample.select_dtypes("datetimetz").columns:  # MLflow: naive date-times only
    sample[name] = sample[name].dt.tz_convert("UTC").dt.tz_localize(None)
method = "predict_proba" if bundle.task.classification else "predict"
signature = infer_signature(sample, getattr(bundle.pipeline, method)(sample))
mlflow.sklearn.save_model(bundle.pipeline, sys.argv[2], signature=signature, pyfunc_predict_fn=method,
                          serialization_format="cloudpickle")
"""


@dataclass(frozen=True)
class Case:
    """One packaged bundle and the raw test split of the project that packaged it."""

    task: str
    data: str
    bundle: Path
    test: Path


def flights() -> Case:
    return Case("binary", "flights", BUNDLE, ROOT / "data/interim/test.parquet")


def example(folder: Path, task: str) -> Case:
    """A bundle of scikit-learn's wine (multiclass) or diabetes (regression) table, packaged
    by the pipeline's own stages in `folder` with the default train settings."""
    frames: dict[str, tuple[Callable[[], tuple[pd.DataFrame, str, str]], str, str]] = {
        "multiclass": (wine_frame, "stratified", "wine"),
        "regression": (diabetes_frame, "random", "diabetes"),
    }
    load, split, data = frames[task]
    frame, target, _ = load()
    (folder / "data/external").mkdir(parents=True)
    frame.to_csv(folder / "data/external/table.csv", index=False)
    params = {
        "sources": {"data": {"kind": "csv", "path": "data/external/table.csv"}},
        "preprocess": {
            "base": "data",
            "target": {"column": target, "name": "label", "task": task},
            "split": {"method": split, "test_fraction": 0.25, "seed": 1},
        },
        "featurize": {"categorical_encoding": "ordinal", "min_frequency": 1},
        "evaluate": {"slices": {"columns": []}},
        **{section: {} for section in ("collect", "validation", "search", "train", "package")},
    }
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    logger.info("packaging the %s example (%s) in %s", task, data, folder)
    with contextlib.chdir(folder):
        for stage in STAGES:
            importlib.import_module(f"lifecycle.stages.{stage}").main()
    return Case(task, data, folder / "models/package", folder / "data/interim/test.parquet")


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


def start_ours(
    port: int,
    log_url: str,
    bundle: Path = BUNDLE,
    workers: int = 1,
    options: Sequence[str] = (),
    env: dict[str, str] = SERVER_ENV,
) -> subprocess.Popen:
    """Our server on `port`; `options`: more `serve` arguments (e.g. the engine); `env`: its
    environment (another checkout's code through PYTHONPATH, for `--versus`)."""
    command = [
        sys.executable,
        "-m",
        "lifecycle",
        "serve",
        "--bundle",
        str(bundle),
        "--port",
        str(port),
        "--log-url",
        log_url,
        *(["--workers", str(workers)] if workers > 1 else []),  # the default: also what releases before it took
        "--labels-key",
        "",  # params.yaml's key names flights columns; every bundle here takes labels by request id
        *options,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(port, process, "/ready")
    return process


# The parts of the request path a trial build switches off, each replaced by what keeps the
# rest of the request as it was (the same rows, answers of the same shape).
PARTS = {
    "log": "the prediction log (nothing queued or written)",
    "validation": "validation (a body's rows validated once, then reused)",
    "flags": "the unseen-value flags (none)",
    "access": "the access log line and the request metrics",
    "model": "the model (every row scored 0.3)",
}
OFF_VARIABLE = "BENCH_PARTS_OFF"
TRIAL_BUILD = f"""
import os
off = set(filter(None, os.environ.get({OFF_VARIABLE!r}, "").split(",")))
if off:
    import uuid
    import numpy as np
    from lifecycle.serving import access_log, fast_path, prediction_log, request_model, scoring
    if "log" in off:
        prediction_log.PredictionLog.append = lambda self, request: None
    if "validation" in off:
        validated, from_json = {{}}, request_model.RowValidator.from_json
        def cached(self, body):
            if body not in validated:
                validated[body] = from_json(self, body)
            return validated[body]
        request_model.RowValidator.from_json = cached
    if "flags" in off:
        scoring.Scorer.flags = lambda self, rows: scoring.Flags([[] for _ in rows], [[] for _ in rows])
    if "access" in off:
        async def unlogged(self, scope, receive, send):
            scope.setdefault("state", {{}})["request_id"] = uuid.uuid4().hex
            await self.app(scope, receive, send)
        access_log.AccessLogMiddleware.__call__ = unlogged
    if "model" in off:
        fast_path.FastPath.scores = lambda self, records: np.full(len(records), 0.3)
"""


def trial_env(folder: Path, off: Sequence[str]) -> dict[str, str]:
    """The environment of a trial build that switches `off` parts of the request path (none:
    the server as it is)."""
    unknown = set(off) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts {sorted(unknown)}: choose from {', '.join(PARTS)}")
    if not off:
        return SERVER_ENV
    (folder / "sitecustomize.py").write_text(TRIAL_BUILD)
    return {**SERVER_ENV, "PYTHONPATH": str(folder), OFF_VARIABLE: ",".join(off)}


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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants (workers, threads)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


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
    server_cpu: float = math.nan  # CPU seconds the server spent during the run
    client_cpu: float = math.nan  # CPU seconds the load generator (this process) spent

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


def load(
    port: int, payloads: list[bytes], concurrency: int, seconds: float, warmup: float = 1.5, server: int | None = None
) -> Run:
    """Closed-loop load: `concurrency` keep-alive connections, each sending back to back;
    with `server` (a process id), the CPU time its process tree spent in the measured run."""

    async def main() -> Run:
        warm = Run(0, 0, 0, [])
        await asyncio.gather(
            *(_worker(port, payloads, i, time.perf_counter() + warmup, warm) for i in range(concurrency))
        )
        run = Run(0, 0, seconds, [])
        cpu = cpu_seconds(server) if server is not None else math.nan
        started, client = time.perf_counter(), time.process_time()
        await asyncio.gather(*(_worker(port, payloads, i * 13, started + seconds, run) for i in range(concurrency)))
        run.seconds = time.perf_counter() - started
        run.server_cpu = cpu_seconds(server) - cpu if server is not None else math.nan
        run.client_cpu = time.process_time() - client
        return run

    return asyncio.run(main())


# --- the benchmark -----------------------------------------------------------------


def rows_for_requests(case: Case, count: int) -> pd.DataFrame:
    """`count` raw test rows with training categories only (valid under the reject policy),
    the test split repeated where it is smaller."""
    bundle = load_bundle(case.bundle)
    test = pd.read_parquet(case.test)[bundle.input_columns]
    keep = pd.Series(True, index=test.index)
    for column in bundle.schema["columns"]:
        if column["kind"] == "categorical":
            keep &= test[column["name"]].isna() | test[column["name"]].isin(column["categories"])
    known = test[keep]
    return pd.concat([known] * math.ceil(count / len(known))).head(count).reset_index(drop=True)


def payloads(rows: pd.DataFrame, size: int, ours: bool) -> list[bytes]:
    bodies = []
    if not ours:  # MLflow's schema enforcement takes naive datetimes only (these are UTC)
        naive = {
            name: rows[name].dt.tz_convert("UTC").dt.tz_localize(None) for name in rows.select_dtypes("datetimetz")
        }
        rows = rows.assign(**naive)
    for start in range(0, len(rows) - size + 1, size):
        chunk = json.loads(rows.iloc[start : start + size].to_json(orient="split", index=False, date_format="iso"))
        if ours:
            records = [dict(zip(chunk["columns"], values)) for values in chunk["data"]]
            body = json.dumps(records[0] if size == 1 else records).encode()
            bodies.append(http_post("/predict", body))
        else:
            bodies.append(http_post("/invocations", json.dumps({"dataframe_split": chunk}).encode()))
    return bodies


def in_process_calls(case: Case, rows: pd.DataFrame, size: int) -> dict[str, Callable[[int], object]]:
    """The floor's calls on `size`-row batches: the bundle's predict and the compiled fast path.

    The fast path is the one the server builds, like for like: params.yaml's `serve.engine`
    (onnxruntime by default), through the service's own `Scorer`, on rows its request model
    validated."""
    from lifecycle.serving.request_model import RowValidator
    from lifecycle.serving.scoring import Scorer

    bundle = load_bundle(case.bundle)
    settings = load_params(ROOT / "params.yaml").serve
    fast = Scorer(bundle, settings.fast_path, settings.engine).fast
    validator = RowValidator(bundle.schema, "accept", 1000)
    batches = [rows.iloc[i : i + size] for i in range(0, len(rows) - size + 1, size)]
    records = [validator.from_python(json.loads(b.to_json(orient="records", date_format="iso"))) for b in batches]
    calls: dict[str, Callable[[int], object]] = {"bundle.predict": lambda i: bundle.predict(batches[i % len(batches)])}
    if fast is not None:
        calls["fast path"] = lambda i: fast.scores(records[i % len(records)])
    return calls


def timed(call: Callable[[int], object], seconds: float) -> tuple[float, float]:
    """Seconds per call, wall and CPU, of `call(i)` repeated for `seconds` in this thread."""
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        call(count)
        count += 1
    return (time.perf_counter() - started) / count, (time.process_time() - cpu) / count


def in_process(case: Case, rows: pd.DataFrame, size: int, seconds: float = 5.0) -> dict[str, tuple[float, float]]:
    """The floor: seconds per call, wall and CPU, of each of `in_process_calls`."""
    return {name: timed(call, seconds) for name, call in in_process_calls(case, rows, size).items()}


LOADS = {
    "1 row, 1 client": ("single", 1),
    "1 row, 8 clients": ("single", 8),
    "100 rows, 2 clients": ("batch", 2),
    # several connections per worker: the kernel hashes each to a worker's socket, so two
    # clients share one worker half the time; eight spread over both
    "100 rows, 8 clients": ("batch", 8),
}
BATCH_LOADS = [name for name, (kind, _) in LOADS.items() if kind == "batch"]


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


@dataclass
class Result:
    """One server under one load, and the load average when it ended."""

    server: str
    load: str
    run: Run
    load_average: str

    @property
    def rows(self) -> int:
        return 100 if LOADS[self.load][0] == "batch" else 1

    @property
    def rate(self) -> float:
        return self.run.requests / self.run.seconds

    def line(self, case: Case) -> str:
        run = self.run
        return (
            f"| {case.data} ({case.task}) | {self.server}, {self.load} | {self.rate:,.0f} req/s | "
            f"{self.rate * self.rows:,.0f} | {run.percentile(0.5):.2f} | {run.percentile(0.99):.2f} | "
            f"{run.errors} | {1000 * run.server_cpu / run.requests:.2f} | {1000 * run.client_cpu / run.requests:.2f} | "
            f"{self.load_average} |"
        )


def measure(server: str, port: int, pid: int, rows: pd.DataFrame, ours: bool, seconds: float) -> list[Result]:
    bodies = {"single": payloads(rows, 1, ours), "batch": payloads(rows, 100, ours)}
    results = []
    for name in LOADS:
        kind, clients = LOADS[name]
        run = load(port, bodies[kind], clients, seconds, server=pid)
        results.append(Result(server, name, run, load_average()))
        logger.info("%s, %s: %.0f req/s", server, name, results[-1].rate)
    return results


def serve_and_measure(case: Case, temp: Path, rows: pd.DataFrame, workers: list[int], seconds: float) -> list[Result]:
    """Our server at each worker count, then MLflow's, each under every load."""
    servers: list[tuple[str, Callable[[int], subprocess.Popen], bool]] = []
    for count in workers:
        log = f"sqlite:///{temp}/log-{case.task}-{count}.sqlite"
        servers.append(
            (
                f"ours, {count} worker{'s' * (count > 1)}",
                lambda p, c=count, u=log: start_ours(p, u, case.bundle, c),
                True,
            )
        )
    model = temp / f"mlflow-{case.task}"
    subprocess.run(
        [str(mlflow_python()), "-c", EXPORT_MLFLOW_MODEL, str(case.bundle), str(model), str(case.test)],
        check=True,
        cwd=ROOT,
        env=SERVER_ENV,
    )
    servers.append(("MLflow, 1 worker", lambda p: start_mlflow(p, model), False))
    results = []
    for name, start, ours in servers:
        port = free_port()
        process = start(port)
        try:
            results.extend(measure(name, port, process.pid, rows, ours, seconds))
        finally:
            stop(process)
    return results


def floor_lines(case: Case, rows: pd.DataFrame) -> tuple[list[str], dict[int, dict[str, tuple[float, float]]]]:
    floors = {size: in_process(case, rows, size) for size in (1, 100)}
    lines = [
        f"| {case.data} ({case.task}) | in-process {name}, {size} row{'s' * (size > 1)} | "
        f"{1 / wall:,.0f} calls/s | {size / wall:,.0f} | {wall * 1000:.2f} | | | {cpu * 1000:.2f} | | "
        f"{load_average()} |"
        for size, timings in floors.items()
        for name, (wall, cpu) in timings.items()
    ]
    return lines, floors


def summary(case: Case, results: list[Result], floors: dict[int, dict[str, tuple[float, float]]]) -> list[str]:
    """Our throughput against MLflow's and the batch path against the in-process floor."""
    rate = {(r.server, r.load): r.rate for r in results}
    lines = []
    for server in dict.fromkeys(r.server for r in results if r.server.startswith("ours")):
        for name in ("1 row, 1 client", "1 row, 8 clients"):
            if (server, name) in rate and ("MLflow, 1 worker", name) in rate:
                ratio = rate[server, name] / rate["MLflow, 1 worker", name]
                lines.append(f"{case.data}: {server}, {name}: {ratio:.1f}x MLflow's throughput")
        for batch in (r for r in results if r.server == server and r.load in BATCH_LOADS):
            if "fast path" not in floors[100]:
                continue
            (fast, fast_cpu), (pandas, _) = floors[100]["fast path"], floors[100]["bundle.predict"]
            cpu = batch.run.server_cpu / batch.run.requests
            lines.append(
                f"{case.data}: {server}, {batch.load}, 100-row batches through HTTP: {batch.rate * fast:.0%} of the "
                f"in-process fast path's throughput ({fast_cpu / cpu:.0%} of its CPU efficiency: {cpu * 1000:.2f} ms "
                f"of server CPU per request against {fast_cpu * 1000:.2f}), {batch.rate * pandas:.1f}x the "
                "in-process bundle.predict"
            )
    return lines


HEADER = (
    "| data (task) | server, load | throughput | rows/s | p50 ms | p99 ms | errors | server CPU ms/req "
    "| client CPU ms/req | load avg |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def benchmark(tasks: list[str], workers: list[int], seconds: float) -> None:
    """Every case under every load, then the in-process floors."""
    lines, notes = [], []
    with tempfile.TemporaryDirectory() as folder:
        temp = Path(folder)
        cases = [flights() if task == "binary" else example(temp / task, task) for task in tasks]
        for case in cases:
            rows = rows_for_requests(case, 2000)
            results = serve_and_measure(case, temp, rows, workers, seconds)
            floor, floors = floor_lines(case, rows)
            lines += [r.line(case) for r in results] + floor
            notes += summary(case, results, floors)
    print("\n" + HEADER + "\n" + "\n".join(lines) + "\n\n" + "\n".join(notes))


def ratio(workers: list[int], seconds: float, rounds: int, off: Sequence[str] = ()) -> None:
    """100-row flights batches through HTTP against the in-process fast path, in turns.

    On shared cores the same loop's time swings by a third from one minute to the next, so a
    floor timed once, before or after the servers, moves the ratio by as much. Here each
    round times the floor for half of `seconds`, then loads the server for `seconds`; the
    ratio of a round is the server's throughput against that floor's, and the table gives
    each setting's median round, with the lowest and highest. `off`: of a trial build with
    those parts switched off (`PARTS`)."""
    case = flights()
    rows = rows_for_requests(case, 2000)
    bodies = payloads(rows, 100, ours=True)
    fast = in_process_calls(case, rows, 100)["fast path"]
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for count in workers:
            port = free_port()
            env = trial_env(Path(folder), off)
            process = start_ours(port, f"sqlite:///{folder}/log-{count}.sqlite", case.bundle, count, env=env)
            try:
                for name in BATCH_LOADS:
                    shares, efficiencies, rates, cpus = [], [], [], []
                    for _ in range(rounds):
                        floor_wall, floor_cpu = timed(fast, seconds / 2)
                        run = load(port, bodies, LOADS[name][1], seconds, server=process.pid)
                        rates.append(run.requests / run.seconds)
                        cpus.append(run.server_cpu / run.requests)
                        shares.append(rates[-1] * floor_wall)
                        efficiencies.append(floor_cpu / cpus[-1])
                    lines.append(
                        f"| {count} worker{'s' * (count > 1)}, {name} | {statistics.median(shares):.0%} "
                        f"({min(shares):.0%}–{max(shares):.0%}) | {statistics.median(efficiencies):.0%} | "
                        f"{statistics.median(rates):.0f} | {1000 * statistics.median(cpus):.2f} | {load_average()} |"
                    )
                    logger.info("%s", lines[-1])
            finally:
                stop(process)
    built = f", a trial build without: {', '.join(PARTS[part] for part in off)}" if off else ""
    print(
        f"\n100-row flights batches through HTTP against the in-process fast path, {rounds} rounds each{built}\n\n"
        "| server, load | throughput: median (lowest–highest) | CPU efficiency | req/s | server CPU ms/req "
        "| load avg |\n| --- | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(lines)
    )


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """The source folder of `rev`, checked out in a temporary git worktree."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "tree"
        add = ["git", "worktree", "add", "--detach", str(tree), rev]
        subprocess.run(add, cwd=ROOT, check=True, capture_output=True)
        try:
            yield tree / "src"
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


Servers = dict[str, tuple[int, subprocess.Popen]]  # by name: port and process


def start_beside(stack: contextlib.ExitStack, folder: Path, envs: dict[str, dict[str, str]]) -> Servers:
    """Our server on the flights bundle once per environment (one worker each, a log of its
    own in `folder`), each stopped when `stack` closes."""
    servers: Servers = {}
    for number, (name, env) in enumerate(envs.items()):
        port = free_port()
        process = start_ours(port, f"sqlite:///{folder}/{number}.sqlite", flights().bundle, env=env)
        stack.callback(stop, process)
        servers[name] = port, process
    return servers


def side_by_side(servers: Servers, seconds: float, rounds: int) -> list[dict[str, float]]:
    """CPU ms per 100-row flights request of each server, all loaded at once (four clients
    each) for `seconds`, `rounds` times after a warm-up: one dict per round."""
    bodies = payloads(rows_for_requests(flights(), 2000), 100, ours=True)

    async def together(duration: float) -> dict[str, float]:
        stop_at = time.perf_counter() + duration
        runs = {name: Run(0, 0, duration, []) for name in servers}
        cpu = {name: cpu_seconds(process.pid) for name, (_, process) in servers.items()}
        clients = [(name, port, i) for name, (port, _) in servers.items() for i in range(4)]
        await asyncio.gather(*(_worker(port, bodies, i * 13, stop_at, runs[name]) for name, port, i in clients))
        return {
            name: 1000 * (cpu_seconds(process.pid) - cpu[name]) / runs[name].requests
            for name, (_, process) in servers.items()
        }

    asyncio.run(together(2.0))  # warm-up
    return [asyncio.run(together(seconds)) for _ in range(rounds)]


def versus(rev: str, seconds: float, rounds: int) -> None:
    """This checkout's server against `rev`'s, side by side under the same load (one worker
    each, four clients each, 100-row flights batches): CPU per request of each, per round."""
    with worktree(rev) as source, tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        envs = {rev: {**SERVER_ENV, "PYTHONPATH": str(source)}, "this checkout": SERVER_ENV}
        results = side_by_side(start_beside(stack, Path(folder), envs), seconds, rounds)
    ratios = [result["this checkout"] / result[rev] for result in results]
    lines = [
        f"| {i + 1} | {result[rev]:.2f} | {result['this checkout']:.2f} | {factor:.3f} |"
        for i, (result, factor) in enumerate(zip(results, ratios, strict=True))
    ]
    print(
        f"\nServer CPU per 100-row flights request (ms), {rev} and this checkout side by side\n\n"
        f"| round | {rev} | this checkout | ratio |\n| ---: | ---: | ---: | ---: |\n" + "\n".join(lines) + "\n\n"
        f"ratio: median {statistics.median(ratios):.3f} (lowest {min(ratios):.3f}, highest {max(ratios):.3f})"
    )


def parts(seconds: float, rounds: int) -> None:
    """What each part of the request path costs the running server: the full server and a
    trial build without that part side by side (one worker each), the difference of their
    CPU per 100-row request; last, a build without every part but the model."""
    trials = [[part] for part in PARTS] + [[part for part in PARTS if part != "model"]]
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for number, off in enumerate(trials):
            trial = Path(folder) / f"trial-{number}"
            trial.mkdir()
            with contextlib.ExitStack() as stack:
                envs = {"full": SERVER_ENV, "trial": trial_env(trial, off)}
                results = side_by_side(start_beside(stack, trial, envs), seconds, rounds)
            full = statistics.median(result["full"] for result in results)
            saved = [result["full"] - result["trial"] for result in results]
            shares = [difference / result["full"] for difference, result in zip(saved, results, strict=True)]
            what = PARTS[off[0]] if len(off) == 1 else "everything but HTTP and the model"
            lines.append(
                f"| {what} | {full:.2f} | {statistics.median(saved):.2f} ({min(saved):.2f}–{max(saved):.2f}) | "
                f"{statistics.median(shares):.0%} |"
            )
            logger.info("%s", lines[-1])
    print(
        f"\nWhat each part costs the server per 100-row flights request, {rounds} rounds of {seconds:.0f} s\n\n"
        "| part switched off | full server, CPU ms/req | saved, ms: median (lowest–highest) | share |\n"
        "| --- | ---: | ---: | ---: |\n" + "\n".join(lines)
    )


def shadow_cost(seconds: float) -> None:
    """Our server (one worker) without and with a shadow as large as the champion (the flights
    bundle scoring beside itself), under every load: what `serve.shadow` costs the champion's
    answers, the shadow being off the request path but on the same cores."""
    case = flights()
    rows = rows_for_requests(case, 2000)
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for name, options in (("ours, no shadow", ()), ("ours, with a shadow", ("--shadow", str(case.bundle)))):
            port = free_port()
            process = start_ours(port, f"sqlite:///{folder}/log-{len(lines)}.sqlite", case.bundle, 1, options)
            try:
                lines += [r.line(case) for r in measure(name, port, process.pid, rows, True, seconds)]
            finally:
                stop(process)
    print("\n" + HEADER + "\n" + "\n".join(lines))


EMPTY_ROUTE = """
import sys
import uvicorn
from fastapi import FastAPI, Request, Response
app = FastAPI()
@app.post("/predict")
async def predict(request: Request) -> Response:
    await request.body()
    return Response(b'{"predictions": []}', media_type="application/json")
@app.get("/ready")
async def ready() -> dict:
    return {}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_config=None)
"""


def cpu_per_call(call: Callable[[int], object], seconds: float = 2.0) -> float:
    """CPU seconds per call of `call(i)` (every thread of this process), over `seconds`."""
    call(0)
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        call(count)
        count += 1
    return (time.process_time() - cpu) / count


PART = "of which: "  # a stage's part, already counted in the stage above it


def stage_costs(case: Case, bodies: list[bytes], folder: Path) -> dict[str, float]:
    """CPU seconds per 100-row request of each stage of /predict, through the service's objects."""
    from lifecycle.config import PredictionLogSettings
    from lifecycle.serving.routes import json_response
    from lifecycle.serving.service import Service

    settings = load_params(ROOT / "params.yaml").serve
    service = Service.load(
        case.bundle, settings.model_copy(update={"log": PredictionLogSettings(url=f"sqlite:///{folder}/stages.sqlite")})
    )
    scorer, compiled, n = service.scorer, service.scorer.fast, len(bodies)
    assert compiled is not None, "the flights bundle compiles"
    rows = [service.validator.from_json(body) for body in bodies]
    scores = [scorer.score(batch) for batch in rows]
    records = [s.logged(batch, "0" * 32, "/predict", service.version, 1.0) for s, batch in zip(scores, rows)]

    def write(i: int) -> None:
        service.log.append(records[i % n])
        service.log.flush()

    fast = cpu_per_call(lambda i: compiled.scores(rows[i % n]))
    costs = {
        "validation (JSON parsing, types, domains)": cpu_per_call(lambda i: service.validator.from_json(bodies[i % n])),
        "the model: the in-process fast path": fast,
        "the scorer beside the model (unseen-value flags, labels)": cpu_per_call(lambda i: scorer.score(rows[i % n]))
        - fast,
        PART + "the unseen-value flags": cpu_per_call(lambda i: scorer.flags(rows[i % n])),
        "the answer's JSON": cpu_per_call(
            lambda i: json_response(
                {"request_id": "0" * 32, "model_version": service.version, "predictions": scores[i % n].answers()}
            )
        ),
        "Prometheus metrics": cpu_per_call(
            lambda i: service.metrics.observe_predictions(scores[i % n].labels, scores[i % n].probabilities)
        ),
        "log entries (on the request path)": cpu_per_call(
            lambda i: scores[i % n].logged(rows[i % n], "0" * 32, "/predict", service.version, 1.0)
        ),
        "prediction log writer (JSON texts, insert; a commit per request)": cpu_per_call(write),
    }
    service.close()
    return costs


def profile(seconds: float) -> None:
    """Where a 100-row request's server CPU goes (flights, one worker, two clients)."""
    case = flights()
    bodies = payloads(rows_for_requests(case, 2000), 100, ours=True)
    with tempfile.TemporaryDirectory() as folder:
        costs = stage_costs(case, [body.split(b"\r\n\r\n", 1)[1] for body in bodies], Path(folder))
        port = free_port()
        empty = subprocess.Popen([sys.executable, "-c", EMPTY_ROUTE, str(port)], env=SERVER_ENV)
        wait_until_up(port, empty, "/ready")
        try:
            floor = load(port, bodies, 2, seconds, server=empty.pid)
        finally:
            stop(empty)
        costs["HTTP: uvicorn and FastAPI, an empty route"] = floor.server_cpu / floor.requests
        port = free_port()
        server = start_ours(port, f"sqlite:///{folder}/log.sqlite")
        try:
            run = load(port, bodies, 2, seconds, server=server.pid)
        finally:
            stop(server)
    measured = run.server_cpu / run.requests
    counted = sum(cost for stage, cost in costs.items() if not stage.startswith(PART))
    costs["the rest (access log, routing, thread hand-off, GIL turns)"] = measured - counted
    lines = [f"| {stage} | {1e6 * cost:,.0f} |" for stage, cost in costs.items()]
    print(
        "\n| stage | µs of CPU per 100-row request |\n| --- | ---: |\n"
        + "\n".join(lines)
        + f"\n| **the server, measured** ({run.requests / run.seconds:.0f} req/s) | **{1e6 * measured:,.0f}** |"
        + f"\n\nload average {load_average()}; client CPU {1e6 * run.client_cpu / run.requests:,.0f} µs per request"
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
        bodies = payloads(rows_for_requests(flights(), 2000), 1, ours=True)
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
        f"worst p99 {max(r.percentile(0.99) for r in runs):.1f} ms, load average {load_average()}"
    )
    if errors or logged != requests:
        raise SystemExit("soak failed: errors or lost log rows")


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def main() -> None:
    configure_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--tasks", default="binary,multiclass,regression", help="comma-separated tasks to measure")
    parser.add_argument("--workers", type=_numbers, default=[1, 2], help="our worker counts, e.g. 1,2")
    parser.add_argument("--ratio", action="store_true", help="only 100-row batches vs the in-process fast path")
    parser.add_argument("--rounds", type=int, default=5, help="--ratio, --versus and --parts: rounds per setting")
    parser.add_argument("--soak", action="store_true", help="run the 64-client, 60 s soak instead")
    parser.add_argument("--shadow", action="store_true", help="only our server without and with serve.shadow")
    parser.add_argument("--setup", action="store_true", help="only create the MLflow environment")
    parser.add_argument("--profile", action="store_true", help="where a 100-row request's server CPU goes")
    parser.add_argument("--versus", metavar="REV", help="this checkout's server against REV's, side by side")
    parser.add_argument("--parts", action="store_true", help="what each part of the request path costs the server")
    parser.add_argument(
        "--off", type=lambda text: text.split(","), default=[], help=f"--ratio of a build without: {', '.join(PARTS)}"
    )
    args = parser.parse_args()
    if args.setup:
        mlflow_python()
    elif args.soak:
        soak(64, 60.0)
    elif args.shadow:
        shadow_cost(args.seconds)
    elif args.profile:
        profile(args.seconds)
    elif args.ratio:
        ratio(args.workers, args.seconds, args.rounds, args.off)
    elif args.parts:
        parts(args.seconds, args.rounds)
    elif args.versus:
        versus(args.versus, args.seconds, args.rounds)
    else:
        benchmark(args.tasks.split(","), args.workers, args.seconds)


if __name__ == "__main__":
    main()
