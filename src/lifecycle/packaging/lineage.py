"""Where a model came from: data and model hashes, library versions, code identity.

Everything here is a function of the inputs and the code, never of the clock, the
machine or the git history (outputs are deterministic), so two runs anywhere with the pinned requirements
write identical metadata and DVC records identical hashes. The commit a bundle belongs
to is the one whose dvc.lock records the bundle's hash: `git log -S <md5> -- dvc.lock`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
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
    """MD5 of each file or folder: the same value DVC 3 records for it in dvc.lock."""
    return {str(path): _dvc_md5(path) for path in paths}


def _dvc_md5(path: Path) -> str:
    """A file's MD5; a folder's (the dask engine's Parquet parts) is DVC's: the MD5 of the
    JSON list of its files' MD5s and relative paths, sorted, with `.dir` appended."""
    if not path.is_dir():
        return file_digest(path, "md5")
    files = sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).parts)
    entries = [{"md5": file_digest(f, "md5"), "relpath": f.relative_to(path).as_posix()} for f in files]
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


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
