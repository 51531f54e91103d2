"""The Dask cluster of the `dask` engine: the configured scheduler, or a LocalCluster.

One context manager opens it for a stage and turns what goes wrong on a cluster into one
`LifecycleError` line: a scheduler that does not answer, a worker that died mid-stage.
Outputs are written inside the block through `atomic_directory`, so a failure leaves the
previous output or none, and a rerun starts clean.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from lifecycle.config import EngineSettings
from lifecycle.errors import LifecycleError

logger = logging.getLogger(__name__)

# Dask's own name for the variable: a bare `Client()` reads it too.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# Long enough for a scheduler across a network, short enough that a wrong address fails fast.
CONNECT_TIMEOUT = "5s"


def scheduler_address(settings: EngineSettings) -> str | None:
    """`engine.scheduler`, else $DASK_SCHEDULER_ADDRESS, else None (start a LocalCluster)."""
    return settings.scheduler or os.environ.get(SCHEDULER_ENV) or None


def _connect(address: str) -> Client:
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise LifecycleError(
            f"the Dask scheduler at {address} is unreachable ({error}); start it, or set "
            f"engine.scheduler to null and unset ${SCHEDULER_ENV} for a local cluster"
        ) from None


@contextmanager
def dask_client(settings: EngineSettings) -> Iterator[Client]:
    """A client of the engine's cluster for the block; a LocalCluster lives as long as it."""
    address = scheduler_address(settings)
    # the scheduler of a LocalCluster runs in this process; its INFO lines would drown the stage's
    logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        if address is None:
            with (
                LocalCluster(
                    n_workers=settings.workers,
                    threads_per_worker=1,
                    memory_limit=settings.memory_limit,
                    dashboard_address=":0",  # any free port: never clash with another cluster on 8787
                    silence_logs=logging.WARNING,
                ) as cluster,
                Client(cluster) as client,
            ):
                logger.info("dask: local cluster of %d workers, %s each", settings.workers, settings.memory_limit)
                yield client
        else:
            with _connect(address) as client:
                logger.info("dask: scheduler %s", address)
                yield client
    except KilledWorker as error:
        raise LifecycleError(
            f"a Dask worker died while running {error.task!r} (out of memory or stopped; see "
            "engine.memory_limit): nothing was written, rerun the stage"
        ) from None
    except CommClosedError as error:
        raise LifecycleError(f"the Dask cluster closed the connection ({error}): nothing was written") from None
