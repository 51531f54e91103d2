"""The packaged model: one folder with everything deployment needs, trusted only by hash.

models/package/
  pipeline.joblib   the fitted inference pipeline (raw columns -> prediction)
  schema.json       input columns, kinds, categories, ranges
  metadata.json     version, lineage hashes, params, metrics, library versions
  MODEL_CARD.md     data, intended use, metrics, limitations
  manifest.json     SHA-256 of every other file

Pickle runs code on load (rule 8), so `load_bundle` checks every file against the
manifest, and refuses missing, altered or unlisted files, before unpickling anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from lifecycle.errors import LifecycleError
from lifecycle.packaging.inference import register_earlier_module_paths
from lifecycle.packaging.schema import validate_rows
from lifecycle.storage import atomic_directory, file_digest, write_joblib, write_json, write_text

PIPELINE_FILE = "pipeline.joblib"
SCHEMA_FILE = "schema.json"
METADATA_FILE = "metadata.json"
CARD_FILE = "MODEL_CARD.md"
MANIFEST_FILE = "manifest.json"


def write_bundle(
    target: Path, pipeline: Pipeline, schema: dict[str, Any], metadata: dict[str, Any], card: str
) -> None:
    """Write the bundle into a temporary folder, add the manifest, then swap it in."""
    with atomic_directory(target) as folder:
        write_joblib(pipeline, folder / PIPELINE_FILE)
        write_json(schema, folder / SCHEMA_FILE)
        write_json(metadata, folder / METADATA_FILE)
        write_text(card, folder / CARD_FILE)
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
            raise LifecycleError(
                f"bundle file {file} does not match its SHA-256 in the manifest: refusing to load it"
            )
    return expected


@dataclass(frozen=True)
class Bundle:
    """A verified, loaded model bundle."""

    pipeline: Pipeline
    schema: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def input_columns(self) -> list[str]:
        return [c["name"] for c in self.schema["columns"]]

    @property
    def task(self) -> str:
        """binary, multiclass or regression (bundles from before tasks existed are binary)."""
        return self.metadata.get("task", "binary")

    @property
    def classes(self) -> list[Any]:
        """Class labels in the model's probability order ([negative, positive] for binary;
        empty for regression; [0, 1] for a binary bundle from before classes were recorded)."""
        if self.task == "regression":
            return []
        return self.metadata.get("classes") or [0, 1]

    def predict(self, frame: pd.DataFrame, unknown_category: str | None = None) -> pd.DataFrame:
        """Predict each row; a row that fails the schema gets an error text instead.

        Returns `prediction` (the class label, or the value for regression) and `error`,
        aligned with the input rows; classification adds `probability` (of the positive
        class for binary, of the predicted class for multiclass) and, for multiclass,
        `probability_<class>` per class. `unknown_category` overrides the packaged policy.
        """
        policy = unknown_category or self.metadata["unknown_category"]
        rows, errors = validate_rows(frame, self.schema, policy)
        valid = np.array([e is None for e in errors], dtype=bool)
        if self.task == "regression":
            values = np.full(len(rows), np.nan)
            if valid.any():
                values[valid] = self.pipeline.predict(rows.loc[valid])
            return pd.DataFrame({"prediction": values, "error": errors})
        probability = np.full((len(rows), len(self.classes)), np.nan)
        if valid.any():
            probability[valid] = self.pipeline.predict_proba(rows.loc[valid])
        if self.task == "binary":
            positive = probability[:, 1]
            labels = self.decide(positive)
            prediction = self._labels([self.classes[i] for i in labels], valid)
            return pd.DataFrame({"prediction": prediction, "probability": positive, "error": errors})
        best = np.argmax(np.nan_to_num(probability, nan=-1.0), axis=1)
        result = pd.DataFrame(
            {
                "prediction": self._labels([self.classes[i] for i in best], valid),
                "probability": probability.max(axis=1),
            }
        )
        for index, label in enumerate(self.classes):
            result[f"probability_{label}"] = probability[:, index]
        result["error"] = errors
        return result

    def _labels(self, labels: list[Any], valid: np.ndarray) -> pd.Series:
        """Labels with a missing value for invalid rows, typed by the classes (Int64, boolean,
        string), so every batch has one dtype even when none of its rows is valid."""
        values = [label if ok else None for label, ok in zip(labels, valid)]
        return pd.Series(pd.array(values, dtype=_label_dtype(self.classes)))

    def decide(self, probability: np.ndarray) -> np.ndarray:
        """The class index for each positive-class probability: 1 at or above the packaged threshold.

        The one decision rule of a binary model, shared by `predict` and the HTTP service.
        """
        return (np.asarray(probability) >= self.metadata["threshold"]).astype(np.int64)


def _label_dtype(classes: list[Any]) -> str:
    """The nullable dtype that holds every class label: integers, booleans or text."""
    if all(isinstance(c, bool) for c in classes):
        return "boolean"
    if all(isinstance(c, int) for c in classes):
        return "Int64"
    if all(isinstance(c, str) for c in classes):
        return "string"
    return "object"


def load_bundle(path: Path) -> Bundle:
    """Verify the bundle's hashes, then load it."""
    if not path.is_dir():
        raise LifecycleError(f"model bundle not found: {path} (run `dvc repro` to create it)")
    verify_bundle(path)
    schema = json.loads((path / SCHEMA_FILE).read_text(encoding="utf-8"))
    metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    register_earlier_module_paths()  # a bundle of an earlier release names its code by older paths
    return Bundle(pipeline=joblib.load(path / PIPELINE_FILE), schema=schema, metadata=metadata)
