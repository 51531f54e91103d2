"""The outputs of every recorded run, pushed with the records.

`dvc push --run-cache` (DVC 3) sends the run records but the workspace's outputs only, and
never the git-tracked ones (`cache: false`: metrics, plot data), though restoring a stage
from the run cache needs every output of the run. A teammate's `dvc repro --pull` would find
the record of a run and not its outputs, and rerun the stage. `push_run_outputs` sends the
objects every local run record names, the very set DVC pulls when it restores a stage.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dvc.repo import Repo

from lifecycle.errors import LifecycleError

logger = logging.getLogger(__name__)


def run_records(repo: Repo) -> list[tuple[str, str]]:
    """(stage key, run value) of every run recorded in the repository's run cache."""
    runs = Path(repo.stage_cache.cache_dir)
    return sorted((record.parent.name, record.name) for record in runs.glob("*/*/*") if record.is_file())


def push_run_outputs(root: Path, remote: str) -> int:
    """Push to `remote` the outputs of every recorded run; returns how many objects went."""
    with Repo(root) as repo:
        used = repo.stage_cache.get_used_objs(run_records(repo))
        transferred = 0
        for odb, objects in used.items():
            result = repo.cloud.push(objects, remote=remote, odb=odb)
            if result.failed:
                raise LifecycleError(
                    f"{len(result.failed)} output(s) of recorded runs are missing from the local cache and were not "
                    f"pushed to remote '{remote}' (the runs are restored from it only where their outputs are there)"
                )
            transferred += len(result.transferred)
    logger.info("pushed %d output object(s) of the recorded runs to remote '%s'", transferred, remote)
    return transferred
