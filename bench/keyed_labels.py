"""Labels by key on the whole test split: what storing them and joining them costs.

Run by hand in a set-up checkout after `dvc repro`: logs the packaged model's predictions of
every test flight into a fresh SQLite log (at their scheduled hour), then stores each flight's
real outcome by the flights key of params.yaml (`serve.log.labels_key`) in batches as
/feedback would take them, and joins them as the monitor does. Prints the time of the first
batch (which reads the whole log to count unmatched keys), of the later ones (which read only
what was logged since), and of the join; and how many flights the key cannot tell apart.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

from lifecycle import paths
from lifecycle.config import PredictionLogSettings, load_params
from lifecycle.logs import configure_logging
from lifecycle.monitoring.keyed_labels import KeyedLabel, key_kinds, key_text, keyed_table_name, read_keyed_labels
from lifecycle.monitoring.labels import LabelStore, read_labels
from lifecycle.monitoring.performance import join_labels
from lifecycle.packaging.bundle import load_bundle
from lifecycle.serving.prediction_log import LoggedRequest, PredictionLog, now, read_prediction_log

logger = logging.getLogger("bench.keyed_labels")
BATCH = 1000  # labels per call, as serve.max_rows allows per /feedback request


def log_flights(url: str, flights: pd.DataFrame) -> None:
    """The bundle's predictions of every flight, logged at its scheduled hour, one request each."""
    bundle = load_bundle(paths.PACKAGE_DIR)
    inputs = flights[bundle.input_columns]
    answers = bundle.predict(inputs)
    rows = json.loads(inputs.to_json(orient="records", date_format="iso"))  # as a client sends them
    log = PredictionLog(PredictionLogSettings(url=url, flush_seconds=0.5, batch_rows=5000))
    for i, (row, answer, probability, stamp) in enumerate(
        zip(rows, answers["prediction"].tolist(), answers["probability"].tolist(), flights["time_hour"])
    ):
        if pd.isna(answers["error"].iloc[i]):
            log.append(
                LoggedRequest(
                    request_id=f"{i:032x}",
                    logged_at=stamp.to_pydatetime(),
                    model_version=bundle.metadata.model_version,
                    endpoint="/predict",
                    latency_ms=1.0,
                    inputs=[row],
                    predictions=[answer],
                    unknown_categories=[[]],
                    probabilities=[probability],
                )
            )
    log.close()


def main() -> None:
    configure_logging()
    settings = load_params().serve.log
    bundle = load_bundle(paths.PACKAGE_DIR)
    kinds = key_kinds(bundle.schema, settings.labels_key)
    flights = pd.read_parquet(Path("data/interim/test.parquet")).reset_index(drop=True)
    shared = flights.duplicated(settings.labels_key, keep=False)
    outcomes = flights[bundle.metadata.target]
    differing = flights[shared].groupby(settings.labels_key)[bundle.metadata.target].nunique().gt(1).sum()
    logger.info(
        "%d test flights; %d share their key with another (%d keys), %d of those keys with different outcomes",
        len(flights),
        int(shared.sum()),
        flights[shared].drop_duplicates(settings.labels_key).shape[0],
        int(differing),
    )
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'log.sqlite'}"
        started = time.perf_counter()
        log_flights(url, flights)
        logger.info("logged %d predictions in %.1f s", len(read_prediction_log(url)), time.perf_counter() - started)
        unique = flights[~shared]
        labels = [
            KeyedLabel(key_text(row, kinds), bundle.classes[int(outcome)])
            for row, outcome in zip(unique[list(kinds)].to_dict(orient="records"), outcomes[~shared])
        ]
        store = LabelStore(url, settings.labels_table, settings.table, kinds)
        times, unmatched = [], 0
        for start in range(0, len(labels), BATCH):
            started = time.perf_counter()
            receipt = store.add(labels[start : start + BATCH], now())
            times.append(time.perf_counter() - started)
            unmatched += receipt.unmatched
        store.close()
        later = sorted(times[1:])
        logger.info(
            "stored %d labels by key in %d batches: first %.2f s (reads the whole log), later median %.3f s, "
            "max %.3f s; %d unmatched",
            len(labels),
            len(times),
            times[0],
            later[len(later) // 2],
            later[-1],
            unmatched,
        )
        started = time.perf_counter()
        log = read_prediction_log(url)
        columns = {c["name"]: c["kind"] for c in bundle.schema["columns"]}
        joined = join_labels(
            log, read_labels(url), read_keyed_labels(url, keyed_table_name(settings.labels_table)), columns
        )
        logger.info(
            "read the log and joined: %d of %d predictions labelled in %.2f s",
            len(joined),
            len(log),
            time.perf_counter() - started,
        )


if __name__ == "__main__":
    main()
