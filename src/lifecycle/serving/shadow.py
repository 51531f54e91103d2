"""Shadow mode (`serve.shadow`): a challenger scores every request the champion answered, off
the request path, and its answers go to the prediction log beside the champion's.

Why: a challenge on a holdout file says how the challenger does on past data; the shadow's
rows say how it does on today's traffic, labelled by the same late labels (same request id
and row), so `python -m lifecycle monitor --bundle <the shadow's bundle>` judges it like the
champion. The champion's answer never waits for the shadow: requests only queue their
validated rows, and one thread scores them and logs the answers under the shadow's model
version with the endpoint suffixed " (shadow)". When the shadow falls behind by more than
`MAX_PENDING_ROWS`, rows are dropped and counted (in /metadata) rather than let memory grow.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from lifecycle.config import ServeSettings
from lifecycle.errors import LifecycleError
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.serving.prediction_log import PredictionLog
from lifecycle.serving.scoring import Scorer

logger = logging.getLogger(__name__)

MAX_PENDING_ROWS = 100_000
SUFFIX = " (shadow)"
_STOP = object()


class Shadow:
    """The challenger's scorer and the thread that scores and logs what the champion answered."""

    def __init__(self, bundle_dir: Path, served: Bundle, settings: ServeSettings, log: PredictionLog) -> None:
        bundle = load_bundle(bundle_dir)
        if not bundle.takes_inputs_of(served):
            raise LifecycleError(f"serve.shadow: the bundle in {bundle_dir} takes other inputs than the one served")
        self.bundle_dir = bundle_dir
        self.version = bundle.metadata.model_version
        self.scorer = Scorer(bundle, settings.fast_path, settings.engine)
        self.log = log
        self.pending = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]], request_id: str, endpoint: str) -> None:
        """Queue validated rows the champion answered; never blocks."""
        with self._lock:
            if self.pending + len(rows) > MAX_PENDING_ROWS:
                self.dropped += len(rows)
                return
            self.pending += len(rows)
        self._queue.put((rows, request_id, endpoint))

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            rows, request_id, endpoint = item
            try:
                scores = self.scorer.score(rows)
                # latency 0: off the request path, no client waited for it
                self.log.append(scores.logged(rows, request_id, endpoint + SUFFIX, self.version, 0.0))
            except Exception:  # a shadow must never take the service down
                logger.exception("shadow model %s failed on request %s", self.version, request_id)
            finally:
                with self._lock:
                    self.pending -= len(rows)

    def close(self) -> None:
        """Score and log what is queued, then stop (before the log closes)."""
        self._queue.put(_STOP)
        self._thread.join()

    def describe(self) -> dict[str, Any]:
        return {"model_version": self.version, "bundle": str(self.bundle_dir), "dropped_rows": self.dropped}
