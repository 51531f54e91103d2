"""`python -m lifecycle remote ...`: start and stop the local S3 server, check a remote, and
push or pull with the run cache after a check, so that a broken remote costs one line. Push
also sends the outputs of every recorded run, which `dvc push --run-cache` leaves behind."""

from __future__ import annotations

import logging
from pathlib import Path

from dvc.cli import main as dvc_main

from lifecycle.remote import local_server
from lifecycle.remote.check import check_remote, remote_settings
from lifecycle.remote.run_cache import push_run_outputs

logger = logging.getLogger(__name__)


def run_remote_command(action: str, root: Path, remote: str | None = None, write: bool = False) -> int:
    """Run one action in the repository at `root`; a `LifecycleError` is the caller's to report."""
    if action == "start":
        credentials = local_server.start(root / local_server.FOLDER)
        name = local_server.use_in_clone(root, credentials, remote)
        logger.info("remote '%s' uses access key %r (.dvc/config.local)", name, credentials.access_key_id)
        return 0
    if action == "stop":
        local_server.stop(root / local_server.FOLDER)
        return 0
    settings = remote_settings(root, remote)
    check_remote(settings, write=write or action == "push")
    if action == "check":
        return 0
    status = dvc_main([action, "--run-cache", "--remote", settings.name])
    if action == "push" and status == 0:
        push_run_outputs(root, settings.name)
    return status
