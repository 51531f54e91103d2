"""Prometheus metrics of the service: traffic, errors, latency, and what the model predicts.

Each app owns its registry (not the process-global one), so several apps in one process
(tests) never share counters. Every series carries the model version, so a dashboard
splits traffic and prediction distribution by model across a deployment.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PROBABILITY_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
OTHER_ENDPOINT = "other"


class ServiceMetrics:
    """The service's counters and histograms, in a registry of their own."""

    def __init__(self, model_version: str, endpoints: Sequence[str]) -> None:
        self.model_version = model_version
        self.endpoints = frozenset(endpoints)
        self.registry = CollectorRegistry()
        labels = ["model_version", "endpoint", "method", "status"]
        self.requests = Counter("lifecycle_http_requests", "HTTP requests by endpoint and status", labels, registry=self.registry)
        self.errors = Counter("lifecycle_http_errors", "HTTP answers with status >= 400", labels, registry=self.registry)
        self.latency = Histogram(
            "lifecycle_http_request_duration_seconds", "Time to answer a request",
            ["model_version", "endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.rows = Counter("lifecycle_rows_predicted", "Rows predicted", ["model_version"], registry=self.registry)
        self.classes = Counter(
            "lifecycle_predictions", "Predicted labels (class counts)", ["model_version", "label"], registry=self.registry
        )
        self.probability = Histogram(
            "lifecycle_prediction_probability", "Predicted probability of the positive class",
            ["model_version"], buckets=PROBABILITY_BUCKETS, registry=self.registry,
        )
        Gauge("lifecycle_model_info", "The model being served (always 1)", ["model_version"], registry=self.registry).labels(
            model_version
        ).set(1)

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

    def observe_predictions(self, labels: Sequence[int], probabilities: Sequence[float]) -> None:
        self.rows.labels(self.model_version).inc(len(labels))
        for label in set(labels):
            self.classes.labels(self.model_version, str(label)).inc(labels.count(label))
        histogram = self.probability.labels(self.model_version)
        for probability in probabilities:
            histogram.observe(probability)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP answer (including 4xx from validation and 404s) and times it."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.observe_request(scope["path"], scope["method"], status, time.perf_counter() - started)
