"""A bundle as it was at a git revision (a commit, a branch or a registry tag).

The bundle is a DVC output, so a revision names it by the hashes in that revision's
dvc.lock; `dvc get` restores exactly those files from the local cache or the default
remote. The folder it writes is checked like any bundle (its manifest's hashes) when loaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lifecycle import paths
from lifecycle.errors import LifecycleError


def bundle_at(revision: str, target: Path, repo: Path = Path()) -> Path:
    """Write the packaged bundle of `revision` of the repository at `repo` into `target` (a
    folder that must not exist yet) and return it; raise LifecycleError naming what failed."""
    dvc = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    command = [dvc, "get", str(repo.resolve()), str(paths.PACKAGE_DIR), "--rev", revision, "-o", str(target)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[-400:]
        raise LifecycleError(f"cannot get the bundle of revision {revision!r}: {said}")
    return target
