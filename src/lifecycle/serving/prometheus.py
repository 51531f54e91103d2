"""Prometheus metrics of the service: traffic, errors, latency, and what the model predicts.

Each app owns its registry (not the process-global one), so several apps in one process
(tests) never share counters. Every series carries the model version, so a dashboard
splits traffic and prediction distribution by model across a deployment.

What the model predicts, by task:

- classification: `lifecycle_predictions_total{label}` counts each predicted class;
  binary adds `lifecycle_prediction_probability` (a histogram of the positive class's
  probability), multiclass `lifecycle_predicted_class_probability` (of the predicted
  class's probability: how confident the model is; a different quantity, so another name);
- regression: `lifecycle_predicted_value`, a histogram of the predicted values. A
  histogram rather than a summary because prometheus_client's summaries export only a
  count and a sum (no quantiles), while histogram buckets add up across replicas and give
  quantiles with `histogram_quantile`. A target has no fixed scale, so the buckets sit at
  the test target's mean ± 0.25 to 3 standard deviations, read from the bundle's test
  metrics: a shift of the predictions away from the target's distribution shows as
  counts moving between buckets. The mean predicted value is `_sum / _count`, but
  prometheus_client (following OpenMetrics: a sum must never decrease) exports `_sum` only
  when no bucket bound is negative, i.e. when the test target's mean - 3 std >= 0; for a
  target that can be negative the buckets still give the distribution and its quantiles.

With several worker processes (`serve.workers`), prometheus_client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by `serving/workers.py` before any worker starts) keeps
each worker's values in files, and the exposition adds up every worker's: counters and
histograms sum, and the model info gauge takes the maximum (1), so /metrics answers the
same totals whichever worker serves it.
"""

from __future__ import annotations

import math
import os
from collections import Counter as Tally
from collections.abc import Sequence
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import BINARY

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PROBABILITY_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
# Predicted-value buckets of a regression model, in standard deviations of the test target.
VALUE_BUCKET_STDS = (-3.0, -2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
OTHER_ENDPOINT = "other"


def value_buckets(test_metrics: dict[str, Any]) -> tuple[float, ...]:
    """Histogram bucket bounds for predicted values: the test target's mean ± k std.

    Falls back to prometheus_client's default buckets when the metrics lack the target's
    mean and spread (or the target was constant).
    """
    mean, std = test_metrics.get("target_mean"), test_metrics.get("target_std")
    if not isinstance(mean, int | float) or not isinstance(std, int | float) or not std > 0:
        return Histogram.DEFAULT_BUCKETS
    bounds = sorted({float(f"{mean + k * std:.6g}") for k in VALUE_BUCKET_STDS})
    return (*bounds, math.inf)


def observe_all(histogram: Histogram, values: Sequence[float]) -> None:
    """`histogram.observe` of every value, each bucket's count and the sum added once.

    Why: prometheus_client observes one value at a time, and a 100-row request's 100
    observations cost 0.2 ms of CPU, 0.4 ms in multiprocess mode (`serve.workers` > 1),
    where every addition is a write to a shared file. A value goes to the first bucket whose
    upper bound it does not exceed, as `observe` puts it (tested against it). Reads the
    histogram's buckets as prometheus_client 0.26 lays them out (pinned); the sum may
    differ from one-by-one addition in its last digits."""
    if not len(values):
        return
    amounts = np.asarray(values, dtype=np.float64)
    bounds = histogram._upper_bounds
    counts = np.bincount(np.searchsorted(bounds, amounts, side="left"), minlength=len(bounds))
    histogram._raise_if_not_observable()
    histogram._sum.inc(float(amounts.sum()))
    for bucket, count in zip(histogram._buckets, counts.tolist(), strict=True):
        if count:
            bucket.inc(count)


class ServiceMetrics:
    """The service's counters and histograms, in a registry of their own.

    The task's `prediction_metric` decides the prediction metrics (see the module
    docstring); `buckets` are the predicted-value histogram's bounds for regression (see
    `value_buckets`).
    """

    def __init__(
        self,
        model_version: str,
        endpoints: Sequence[str],
        task: Task = BINARY,
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> None:
        self.model_version = model_version
        self.endpoints = frozenset(endpoints)
        self.registry = CollectorRegistry()
        labels = ["model_version", "endpoint", "method", "status"]
        self.requests = Counter(
            "lifecycle_http_requests", "HTTP requests by endpoint and status", labels, registry=self.registry
        )
        self.errors = Counter(
            "lifecycle_http_errors", "HTTP answers with status >= 400", labels, registry=self.registry
        )
        self.latency = Histogram(
            "lifecycle_http_request_duration_seconds",
            "Time to answer a request",
            ["model_version", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter("lifecycle_rows_predicted", "Rows predicted", ["model_version"], registry=self.registry)
        self.classes: Counter | None = None
        self.probability: Histogram | None = None
        self.values: Histogram | None = None
        predicted = task.prediction_metric
        if predicted.counts_classes:
            self.classes = Counter(
                "lifecycle_predictions",
                "Predicted labels (class counts)",
                ["model_version", "label"],
                registry=self.registry,
            )
            self.probability = Histogram(
                predicted.name, predicted.help, ["model_version"], buckets=PROBABILITY_BUCKETS, registry=self.registry
            )
        else:
            self.values = Histogram(
                predicted.name, predicted.help, ["model_version"], buckets=tuple(buckets), registry=self.registry
            )
        self.task_name = task.name
        self.model_info = Gauge(
            "lifecycle_model_info",
            "The model being served (1; 0 for one a reload replaced)",
            ["model_version", "task"],
            registry=self.registry,
            multiprocess_mode="max",  # 1 whichever worker set it (ignored by a single process)
        )
        self.model_info.labels(model_version, task.name).set(1)
        self.reloads = Counter(
            "lifecycle_model_reloads", "Hot reloads of the bundle, by outcome", ["outcome"], registry=self.registry
        )

    def serve_version(self, model_version: str) -> None:
        """Count what follows under a reloaded model's version; the replaced one's info drops to 0."""
        self.model_info.labels(self.model_version, self.task_name).set(0)
        self.model_version = model_version
        self.model_info.labels(model_version, self.task_name).set(1)

    def endpoint(self, path: str) -> str:
        """The path as a metric label; unknown paths share one label (bounded cardinality)."""
        return path if path in self.endpoints else OTHER_ENDPOINT

    def observe_request(self, path: str, method: str, status: int, seconds: float) -> None:
        endpoint = self.endpoint(path)
        key = (self.model_version, endpoint, method, str(status))
        self.requests.labels(*key).inc()
        if status >= 400:
            self.errors.labels(*key).inc()
        self.latency.labels(self.model_version, endpoint).observe(seconds)

    def observe_predictions(self, labels: Sequence[Any], probabilities: Sequence[float] | None = None) -> None:
        """Count the rows; then classes and probabilities, or predicted values (regression)."""
        self.rows.labels(self.model_version).inc(len(labels))
        if self.values is not None:
            observe_all(self.values.labels(self.model_version), labels)
            return
        assert self.classes is not None and self.probability is not None
        for label, count in Tally(str(label) for label in labels).items():
            self.classes.labels(self.model_version, label).inc(count)
        observe_all(self.probability.labels(self.model_version), probabilities or ())

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric (of every worker, with several)."""
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            return generate_latest(self.registry)
        workers = CollectorRegistry()
        MultiProcessCollector(workers)
        return generate_latest(workers)
