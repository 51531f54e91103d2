"""Where a model came from: data and model hashes, library versions, code identity.

Everything here is a function of the inputs and the code, never of the clock, the
machine or the git history (outputs are deterministic), so two runs anywhere with the pinned requirements
write identical metadata and DVC records identical hashes. The commit a bundle belongs
to is the one whose dvc.lock records the bundle's hash: `git log -S <md5> -- dvc.lock`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

from lifecycle.storage import file_digest

LIBRARIES = (
    "lifecycle",
    "scikit-learn",
    "pandas",
    "numpy",
    "pyarrow",
    "joblib",
    "dvc",
    "dvclive",
    "onnx",
    "onnxruntime",
)


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


def code_sha256(modules: tuple[str, ...]) -> str:
    """One SHA-256 over the source of the given modules (name and bytes), in order.

    The bundle records the code its pickled pipeline executes: the model's behaviour
    depends on it and on the library versions, and on nothing else in the repository.
    """
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise LookupError(f"module {name} not found")
        digest.update(name.encode())
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()
