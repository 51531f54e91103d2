"""The packaged model: one folder with everything deployment needs, trusted only by hash.

models/package/
  pipeline.joblib   the fitted inference pipeline (raw columns -> prediction)
  schema.json       input columns, kinds, categories, ranges
  metadata.json     version, lineage hashes, params, metrics, library versions
  MODEL_CARD.md     data, intended use, metrics, limitations
  reference.json    the training inputs' profile, and reference.parquet a seeded sample of
                    them with the model's scores (lifecycle.monitoring.reference)
  model.onnx        the portable model, checked against the pipeline on the test split
                    (lifecycle.packaging.onnx_check; `package.onnx`)
  manifest.json     SHA-256 of every other file

Pickle runs code on load, so a model file is trusted only by its hash: `load_bundle`
checks every file against the manifest, and refuses missing, altered or unlisted files,
before unpickling anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from lifecycle.artifacts import BundleMetadata
from lifecycle.errors import LifecycleError
from lifecycle.packaging.inference import register_earlier_module_paths
from lifecycle.packaging.schema import validate_rows
from lifecycle.storage import atomic_directory, file_digest, write_joblib, write_json, write_text
from lifecycle.tasks.base import Task
from lifecycle.tasks.binary import decide
from lifecycle.tasks.registry import task_named

PIPELINE_FILE = "pipeline.joblib"
SCHEMA_FILE = "schema.json"
METADATA_FILE = "metadata.json"
CARD_FILE = "MODEL_CARD.md"
MANIFEST_FILE = "manifest.json"
ONNX_FILE = "model.onnx"


def write_bundle(
    target: Path,
    pipeline: Pipeline,
    schema: dict[str, Any],
    metadata: BundleMetadata,
    card: str,
    extra: Mapping[str, Callable[[Path], None]] | None = None,
) -> None:
    """Write the bundle into a temporary folder, add the manifest, then swap it in.

    `extra` adds files (name -> the function writing it), hashed in the manifest like the rest.
    """
    with atomic_directory(target) as folder:
        write_joblib(pipeline, folder / PIPELINE_FILE)
        write_json(schema, folder / SCHEMA_FILE)
        metadata.write(folder / METADATA_FILE)
        write_text(card, folder / CARD_FILE)
        for name, write in (extra or {}).items():
            write(folder / name)
        files = sorted(p.name for p in folder.iterdir())
        write_json(
            {"algorithm": "sha256", "files": {name: file_digest(folder / name) for name in files}},
            folder / MANIFEST_FILE,
        )


def verify_bundle(path: Path) -> dict[str, str]:
    """Check every file against the manifest; return the manifest's hashes or raise."""
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise LifecycleError(f"{path} is not a model bundle: {MANIFEST_FILE} is missing")
    try:
        expected = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise LifecycleError(f"{manifest_path} is not a valid manifest") from None
    present = {p.name for p in path.iterdir() if p.is_file()} - {MANIFEST_FILE}
    unlisted = sorted(present - set(expected))
    if unlisted:
        raise LifecycleError(f"bundle {path} holds file(s) not in its manifest: {unlisted}")
    for name, digest in sorted(expected.items()):
        file = path / name
        if not file.is_file():
            raise LifecycleError(f"bundle {path} is missing {name}, listed in its manifest")
        if file_digest(file) != digest:
            raise LifecycleError(f"bundle file {file} does not match its SHA-256 in the manifest: refusing to load it")
    return expected


@dataclass(frozen=True)
class Bundle:
    """A verified, loaded model bundle."""

    pipeline: Pipeline
    schema: dict[str, Any]
    metadata: BundleMetadata
    onnx: bytes | None = None  # model.onnx, when the bundle holds one

    @property
    def input_columns(self) -> list[str]:
        return [c["name"] for c in self.schema["columns"]]

    @property
    def task(self) -> Task:
        """The bundle's task (bundles from before tasks existed are binary)."""
        return task_named(self.metadata.task)

    @property
    def classes(self) -> list[Any]:
        """Class labels in the model's probability order ([negative, positive] for binary;
        empty for regression; [0, 1] for a binary bundle from before classes were recorded)."""
        if not self.task.classification:
            return []
        return self.metadata.classes or [0, 1]

    def predict(self, frame: pd.DataFrame, unknown_category: str | None = None) -> pd.DataFrame:
        """Predict each row; a row that fails the schema gets an error text instead.

        Returns `prediction` (the class label, or the value for regression) and `error`,
        aligned with the input rows; classification adds `probability` (of the positive
        class for binary, of the predicted class for multiclass) and, for multiclass,
        `probability_<class>` per class. `unknown_category` overrides the packaged policy.
        """
        policy = unknown_category or self.metadata.unknown_category
        rows, errors = validate_rows(frame, self.schema, policy)
        valid = np.array([e is None for e in errors], dtype=bool)
        scores = self.task.no_scores(len(rows), self.classes)
        if valid.any():
            scores[valid] = self.task.model_scores(self.pipeline, rows.loc[valid], self.classes)
        result = self.task.answers(scores, valid, self.classes, self.metadata.threshold)
        result["error"] = errors
        return result

    def takes_inputs_of(self, other: Bundle) -> bool:
        """Whether this bundle answers the same task, with the same classes, from the same input
        columns (name, kind, missing allowed) as `other`, so it can stand in for it behind
        routes built for `other` (hot reload, shadow). Categories and training ranges may
        differ, as they do for a model retrained on more months: the request validator is
        rebuilt from the new schema."""
        return (
            self.task.name == other.task.name
            and self.classes == other.classes
            and _interface(self.schema) == _interface(other.schema)
        )

    def decide(self, probability: np.ndarray) -> np.ndarray:
        """The class index of each positive-class probability, by the packaged threshold: the
        decision rule of a binary model, for callers that hold only probabilities (the
        service's compiled path)."""
        assert self.metadata.threshold is not None, "only a binary bundle has a decision threshold"
        return decide(probability, self.metadata.threshold)


def _interface(schema: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """What routes built for a schema depend on: each input column's name, kind and nullability."""
    return [(c["name"], c["kind"], c["nullable"]) for c in schema["columns"]]


def load_bundle(path: Path) -> Bundle:
    """Verify the bundle's hashes, then load it."""
    if not path.is_dir():
        raise LifecycleError(f"model bundle not found: {path} (run `dvc repro` to create it)")
    verify_bundle(path)
    schema = json.loads((path / SCHEMA_FILE).read_text(encoding="utf-8"))
    metadata = BundleMetadata.read(path / METADATA_FILE)
    register_earlier_module_paths()  # a bundle of an earlier release names its code by older paths
    onnx = (path / ONNX_FILE).read_bytes() if (path / ONNX_FILE).is_file() else None
    return Bundle(pipeline=joblib.load(path / PIPELINE_FILE), schema=schema, metadata=metadata, onnx=onnx)
