"""ONNX against the pipeline and the compiled fast path: agreement, then latency.

    OMP_NUM_THREADS=1 python bench/onnx_engine.py             # after `dvc repro`; about a minute
    OMP_NUM_THREADS=1 python bench/onnx_engine.py --http 8    # and our server with each engine, 8 s a load

(as a module: run as a script, this file would shadow the `onnx` package)

Agreement, on the whole test split (data/interim/test.parquet), of three ONNX models with
the packaged pipeline: the bundle's model.onnx (lifecycle.packaging.onnx_graph), and
skl2onnx's own converter (`pip install -r bench/requirements.txt`) as released and with its
boolean attribute cast to an integer. Then the latency of one row and of 100 rows, in this
process, interleaved round by round, from the validated records the service holds: the
fast path on scikit-learn's tree predictors, the same path on onnxruntime (`OnnxPath`,
what `serve.engine: onnx` runs), and onnxruntime alone on inputs already built. One
thread everywhere (OMP_NUM_THREADS=1, intra_op_num_threads=1); the load average is
printed before and after, since other work shares the machine. With `--http`, our server
(`python -m lifecycle serve --engine ...`) with each engine, under bench/serve.py's load
generator. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd

from lifecycle import paths
from lifecycle.logs import configure_logging
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.packaging.onnx_check import (
    agreement,
    onnx_inputs,
    onnx_scores,
    onnx_session,
    pipeline_scores,
)
from lifecycle.serving.fast_path import compile_fast_path
from lifecycle.serving.onnx_path import OnnxPath, onnx_path
from lifecycle.serving.request_model import RowValidator

logger = logging.getLogger("bench.onnx_engine")
ROUNDS = 7
SECONDS_PER_ROUND = 1.0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def skl2onnx_agreement(bundle: Bundle, test: pd.DataFrame, cast_booleans: bool) -> str:
    """skl2onnx's converter on the model alone (the features computed by the pipeline)."""
    try:
        import skl2onnx.common.tree_ensemble as tree_ensemble
        from skl2onnx import to_onnx
    except ImportError:
        return "skl2onnx not installed (pip install -r bench/requirements.txt)"
    model = bundle.pipeline.named_steps["model"]
    features = bundle.pipeline.named_steps["features"].transform(test).to_numpy(dtype=np.float32)
    released = tree_ensemble.add_node
    if cast_booleans:  # leaves pass the Python literal False as nodes_missing_value_tracks_true

        def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> None:
            released(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs)

        tree_ensemble.add_node = add_node
    try:
        converted = to_onnx(model, features[:1], options={"zipmap": False}, target_opset={"": 21, "ai.onnx.ml": 3})
    except Exception as error:  # the point is to report what fails
        return f"conversion fails: {str(error).splitlines()[0][:80]}... caused by {error.__cause__!r}"
    finally:
        tree_ensemble.add_node = released
    session = onnxruntime.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"])
    probability = session.run(None, {session.get_inputs()[0].name: features})[1]
    expected = pipeline_scores(bundle.pipeline, test)
    actual = probability[:, 1] if expected.ndim == 1 else probability
    result = agreement(expected, actual, test.index, bundle.metadata.threshold)
    return f"max difference {result.max_difference:.3g}, decisions differing {result.decisions_differing:.1%}"


def per_call_ms(call: Callable[[int], object], batches: int) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS_PER_ROUND:
        call(count % batches)
        count += 1
    return (time.perf_counter() - started) / count * 1000


def latency(bundle: Bundle, test: pd.DataFrame, size: int) -> dict[str, float]:
    """Median milliseconds per call over interleaved rounds, per engine."""
    fast = compile_fast_path(bundle.pipeline, bundle.input_columns)
    assert fast is not None
    engine = onnx_path(fast, bundle.onnx)
    assert isinstance(engine, OnnxPath), "the bundle has no model.onnx: run dvc repro with package.onnx true"
    validator = RowValidator(bundle.schema, "accept", 1000)
    frames = [test.iloc[i : i + size] for i in range(0, min(len(test), 200 * size) - size + 1, size)]
    records = [validator.from_python(json.loads(f.to_json(orient="records", date_format="iso"))) for f in frames]
    arrays = [engine.inputs(r) for r in records]
    for batch in records:  # the same numbers before timing them
        np.testing.assert_array_equal(engine.scores(batch), fast.scores(batch))
    engines: dict[str, Callable[[int], object]] = {
        "fast path, scikit-learn's tree predictors (`serve.engine: fast_path`)": lambda i: fast.scores(records[i]),
        "fast path, onnxruntime (`serve.engine: onnx`)": lambda i: engine.scores(records[i]),
        "onnxruntime alone, inputs already built": lambda i: onnx_scores(engine.session, arrays[i]),
    }
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(ROUNDS):
        for name, call in engines.items():
            times[name].append(per_call_ms(call, len(records)))
    return {name: statistics.median(values) for name, values in times.items()}


def http(test: pd.DataFrame, seconds: float) -> None:
    """Our server with each engine, by bench/serve.py's server start and load generator,
    two rounds interleaved."""
    from bench.serve import free_port, load, payloads, row, start_ours

    single, batch = payloads(test.head(20_000), 1, True), payloads(test.head(20_000), 100, True)
    print("\n| server, load | throughput | rows/s | p50 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for _ in range(2):
        for engine in ("fast_path", "onnx"):
            with tempfile.TemporaryDirectory() as temp:
                port = free_port()
                server = start_ours(port, f"sqlite:///{temp}/log.sqlite", options=["--engine", engine])
                try:
                    print(row(f"`{engine}`, 1 row, 1 client", load(port, single, 1, seconds), 1))
                    print(row(f"`{engine}`, 100 rows, 2 clients", load(port, batch, 2, seconds), 100))
                finally:
                    server.terminate()
                    server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", type=float, metavar="SECONDS", help="also serve over HTTP with each engine")
    args = parser.parse_args()
    configure_logging()
    threads, version = os.environ.get("OMP_NUM_THREADS"), onnxruntime.__version__
    logger.info("load average before: %s; OMP_NUM_THREADS=%s; onnxruntime %s", load_average(), threads, version)
    bundle = load_bundle(paths.PACKAGE_DIR)
    test = pd.read_parquet(paths.INTERIM_TEST)[bundle.input_columns]
    assert bundle.onnx is not None, "the bundle has no model.onnx: run dvc repro with package.onnx true"
    session = onnx_session(bundle.onnx)
    expected = pipeline_scores(bundle.pipeline, test)
    actual = onnx_scores(session, onnx_inputs(bundle.pipeline, test))
    result = agreement(expected, actual, test.index, bundle.metadata.threshold)
    exact = float(np.mean(np.all((actual == expected).reshape(len(test), -1), axis=1)))
    print(f"\nAgreement with the pipeline on {len(test):,} test rows")
    print(
        f"- model.onnx: max difference {result.max_difference:.3g} (row {result.worst_row!r}), "
        f"decisions differing {result.decisions_differing}, rows bit-for-bit equal {exact:.1%}"
    )
    for cast in (False, True):
        label = "skl2onnx 1.20, booleans cast" if cast else "skl2onnx 1.20 as released"
        print(f"- {label}: {skl2onnx_agreement(bundle, test, cast)}")
    print("\n| engine | 1 row (ms) | 100 rows (ms) |\n| --- | ---: | ---: |")
    single, hundred = latency(bundle, test, 1), latency(bundle, test, 100)
    for name in single:
        print(f"| {name} | {single[name]:.3f} | {hundred[name]:.3f} |")
    if args.http:
        http(test, args.http)
    logger.info("load average after: %s", load_average())


if __name__ == "__main__":
    main()
