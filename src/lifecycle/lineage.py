"""Where a model came from: data and model hashes, library versions, code identity.

Everything here is a function of the inputs and the code, never of the clock or the
machine (rule 3), so two runs anywhere with the pinned requirements write identical
metadata and DVC records identical hashes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from lifecycle.storage import file_digest

LIBRARIES = ("lifecycle", "scikit-learn", "pandas", "numpy", "pyarrow", "joblib", "dvc", "dvclive")


def dvc_md5(paths: list[Path]) -> dict[str, str]:
    """MD5 of each file: the same value DVC 3 records for that file in dvc.lock."""
    return {str(path): file_digest(path, "md5") for path in paths}


def library_versions() -> dict[str, str]:
    """Python (major.minor) and the versions of the libraries the model depends on."""
    versions = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_sha256(root: Path) -> str:
    """One SHA-256 over every Python file of the package (path and bytes), in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_lineage(code_dir: Path) -> dict[str, object]:
    """The last commit that changed the code, and whether the working code differs from it.

    HEAD itself is not recorded: committing dvc.lock moves HEAD, so the package could
    never be reproduced. The last commit touching the code is the same in every clone
    and across commits of data, params and lock files. Run the pipeline on committed
    code (as CI does) for a bundle that a clone reproduces byte for byte.
    """
    commit = _git("log", "-1", "--format=%H", "--", str(code_dir))
    status = _git("status", "--porcelain", "--", str(code_dir))
    return {
        "code_commit": commit or None,
        "code_modified_since_commit": bool(status) if status is not None else None,
    }
