"""One service's state, built once per app and handed to every route as a dependency.

`Service` holds the verified bundle and what is derived from it (the request validator,
the scorer, the Prometheus metrics), the prediction log and the labels beside it; `score` is the one path
every prediction takes: score, count, log.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from lifecycle.config import RegistryRef, ServeSettings
from lifecycle.errors import LifecycleError
from lifecycle.monitoring.keyed_labels import key_kinds
from lifecycle.monitoring.labels import AnyLabel, LabelReceipt, LabelStore
from lifecycle.packaging.bundle import Bundle, load_bundle, verify_bundle
from lifecycle.serving.feedback import FeedbackReader
from lifecycle.serving.prediction_log import PredictionLog, now
from lifecycle.serving.prometheus import ServiceMetrics, value_buckets
from lifecycle.serving.request_model import RowValidator
from lifecycle.serving.scoring import Scorer, Scores
from lifecycle.serving.shadow import Shadow

logger = logging.getLogger(__name__)

PREDICTION_ENDPOINTS = ("/predict", "/invocations")  # a 4xx answer of these is logged as a rejected request
ENDPOINTS = (
    "/predict",
    "/invocations",
    "/feedback",
    "/health",
    "/ping",
    "/ready",
    "/version",
    "/metadata",
    "/metrics",
    "/admin/reload",
)
# Up to this many rows are scored on the event loop by the compiled path (100 flights rows
# in about 2 ms of CPU with onnxruntime): handing a 100-row batch to a thread and back
# cost the server 0.4 to 0.6 ms more CPU per request (README, Serve), a quarter of the
# scoring itself. Larger requests go to the thread pool so they never stall the loop long.
INLINE_ROWS = 128


def answering(bundle: Bundle, settings: ServeSettings) -> dict[str, Any]:
    """What answers requests for `bundle`: its unknown-category policy, request validator and
    scorer (built at start and again by a hot reload)."""
    policy = settings.unknown_category or bundle.metadata.unknown_category
    return {
        "policy": policy,
        "validator": RowValidator(bundle.schema, policy, settings.max_rows),
        "scorer": Scorer(bundle, settings.fast_path, settings.engine),
    }


@dataclass
class Service:
    """The bundle being served and everything a request needs from it."""

    bundle_dir: Path
    bundle: Bundle
    digests: dict[str, str]  # the manifest's hashes when the bundle was loaded
    settings: ServeSettings
    policy: str  # what happens to a category never seen in training: reject | accept
    validator: RowValidator
    scorer: Scorer
    metrics: ServiceMetrics
    log: PredictionLog
    labels: LabelStore
    feedback: FeedbackReader  # what /feedback reads: labels by request id, or by serve.log.labels_key
    shadow: Shadow | None = None  # serve.shadow: a challenger scoring every answered request, off the path

    @property
    def version(self) -> str:
        return self.bundle.metadata.model_version

    @classmethod
    def load(cls, bundle_dir: Path, settings: ServeSettings) -> Service:
        """Verify and load the bundle, and open the prediction log: a bad bundle, log URL or
        labels key stops the command before it binds a port (LifecycleError)."""
        bundle = load_bundle(bundle_dir)
        digests = verify_bundle(bundle_dir)
        key = key_kinds(bundle.schema, settings.log.labels_key)
        version = bundle.metadata.model_version
        log = PredictionLog(settings.log)
        shadow = None if settings.shadow is None else Shadow(Path(settings.shadow), bundle, settings, log)
        return cls(
            bundle_dir=bundle_dir,
            bundle=bundle,
            digests=digests,
            settings=settings,
            **answering(bundle, settings),
            metrics=ServiceMetrics(version, ENDPOINTS, bundle.task, value_buckets(bundle.metadata.metrics.test)),
            log=log,
            labels=LabelStore(settings.log.url, settings.log.labels_table, settings.log.table, key),
            feedback=FeedbackReader(bundle.schema, key),
            shadow=shadow,
        )

    def reloaded(self, bundle_dir: Path | None = None, registry: RegistryRef | None = None) -> Service:
        """The bundle in `bundle_dir` (default: the served folder, as it is now), verified and
        loaded beside this one, with this service's log, labels and metrics: what a hot reload
        swaps in; `registry`: the registry's name for it, when it changed. Raises
        LifecycleError for a bundle that fails verification or takes other inputs (the routes
        and the OpenAPI document were built for these: restart for that)."""
        folder = bundle_dir or self.bundle_dir
        bundle = load_bundle(folder)
        digests = verify_bundle(folder)
        if not bundle.takes_inputs_of(self.bundle):
            raise LifecycleError(
                f"the bundle in {folder} takes other inputs or another task than the one served; "
                "restart the service to serve it"
            )
        settings = self.settings if registry is None else self.settings.model_copy(update={"registry": registry})
        return replace(
            self, bundle_dir=folder, bundle=bundle, digests=digests, settings=settings, **answering(bundle, settings)
        )

    async def score(self, rows: list[dict[str, Any]], endpoint: str, request_id: str, started: float) -> Scores:
        """Score validated rows, count them in the metrics and queue them for the log
        under the request's id (given by the access log middleware)."""
        scorer = self.scorer
        if len(rows) <= INLINE_ROWS and scorer.fast:
            scores = scorer.score(rows)
        else:
            scores = await run_in_threadpool(scorer.score, rows)
        latency_ms = (time.perf_counter() - started) * 1000
        self.metrics.observe_predictions(scores.labels, scores.probabilities)
        self.log.append(scores.logged(rows, request_id, endpoint, self.version, latency_ms))
        if self.shadow is not None:
            self.shadow.submit(rows, request_id, endpoint)
        beyond = scores.flags.beyond_training_range
        if any(beyond):
            logger.info(
                "request %s: values beyond the training range (scored, flagged): %s",
                request_id,
                "; ".join(f"row {index}: {', '.join(names)}" for index, names in enumerate(beyond) if names),
            )
        return scores

    def record_rejected(self, request_id: str, endpoint: str, status: int, reason: str) -> None:
        """Queue a prediction request answered `status` (nothing scored) for the log, beside
        the predictions, so the monitor can count rejected requests per window."""
        self.log.append_rejected(request_id, endpoint, status, reason, self.version)

    def close(self) -> None:
        """Write every queued prediction (the shadow's too), then close the log and the labels."""
        if self.shadow is not None:
            self.shadow.close()
        self.log.close()
        self.labels.close()

    def record_labels(self, labels: list[AnyLabel]) -> LabelReceipt:
        """Store late labels. The log is flushed first, so a label sent right after its
        prediction finds it and is not counted as unmatched."""
        self.log.flush()
        return self.labels.add(labels, now())

    def metadata(self) -> dict[str, Any]:
        """What /metadata answers: version, task, lineage, params, metrics, limits and schema."""
        metadata = self.bundle.metadata.as_json()
        lineage = metadata["lineage"]
        return {
            "model_version": self.version,
            # the registry's version and stage, when served by `serve --stage` / `--rev`
            "registry": None if self.settings.registry is None else self.settings.registry.model_dump(),
            "shadow": None if self.shadow is None else self.shadow.describe(),
            "task": self.bundle.task.name,
            "target": metadata["target"],
            "classes": self.scorer.classes,  # None for regression
            "git_commit": lineage.get("code_commit"),  # recorded by bundles of early development only
            "data_md5": lineage["data_md5"],
            "model_md5": lineage["model_md5"],
            "lineage": lineage,
            "bundle_sha256": self.digests,
            "params": metadata["params"],
            "metrics": metadata["metrics"],
            "threshold": metadata["threshold"],
            "unknown_category": self.policy,
            "limits": {"max_rows": self.settings.max_rows, "max_body_bytes": self.settings.max_body_bytes},
            "schema": self.bundle.schema,
        }


def settle_heap() -> None:
    """Put every object alive now out of the garbage collector's sight (`gc.freeze`).

    Why: a loaded service (the bundle, scikit-learn, onnxruntime, pydantic's validators)
    is some 200,000 tracked objects that live as long as the process, and every full
    collection scanned them all: here a 190 ms pause every few hundred 100-row requests,
    0.2 ms of CPU per request on average, 0.04 ms with them frozen. Called once the service
    is up, and again after a reload, which unfreezes first so that the replaced bundle's
    reference cycles are collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def get_service(request: Request) -> Service:
    """The app's service (a FastAPI dependency). Async, so FastAPI calls it on the event loop:
    a plain function would be sent to the thread pool on every request."""
    return request.app.state.service
