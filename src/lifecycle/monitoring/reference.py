"""The reference profile: what the served model's training inputs looked like, in the bundle.

The package stage profiles the train split it packages (per column: missing share and
quantiles, or category counts), keeps a seeded sample of its rows with the model's score
for each, and the test metrics of every slice, so the monitor compares live traffic with
training from the bundle alone: no `data/`, no DVC, no unpickling on the monitoring side.
Both files are listed in the bundle's manifest like every other file, so a changed or
truncated profile is refused by hash.

Drift is computed on the sample (the tests' rules, Evidently's, take two samples); the
profile holds the whole split's summary beside it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pyarrow
from pydantic import Field

from lifecycle.artifacts import Artifact
from lifecycle.config import PackageSettings
from lifecycle.errors import LifecycleError
from lifecycle.metrics.rounding import rounded
from lifecycle.packaging.bundle import Bundle, verify_bundle
from lifecycle.storage import write_json, write_parquet

PROFILE_FILE = "reference.json"
SAMPLE_FILE = "reference.parquet"
# The sample's column holding the model's score for the row: the positive class's (binary) or
# the predicted class's (multiclass) probability, or the predicted value (regression), as
# the prediction log records it. Named so no input column can take it.
SCORE_COLUMN = "__score__"
QUANTILES = 10  # deciles: the profile's numeric summary, for the report's figures


class NumericProfile(Artifact):
    """A numeric column of the training split: missing share, mean, std and deciles."""

    kind: Literal["numeric"] = "numeric"
    missing_share: float
    mean: float | None
    std: float | None
    quantiles: list[float]


class CategoricalProfile(Artifact):
    """A categorical (or boolean) column of the training split: missing share and counts."""

    kind: Literal["categorical"] = "categorical"
    missing_share: float
    counts: dict[str, int]


ColumnProfile = Annotated[NumericProfile | CategoricalProfile, Field(discriminator="kind")]


class ReferenceProfile(Artifact):
    """models/package/reference.json: the profile of every monitored input column and of the
    model's scores, and how the sample beside it was drawn."""

    rows: int  # training rows profiled
    sample_rows: int
    seed: int
    columns: dict[str, ColumnProfile]
    score: NumericProfile
    test_slices: dict[str, Any] = {}  # the evaluate stage's slice table (metrics/slices.json)

    def kinds(self) -> dict[str, str]:
        """Each monitored column's kind (numeric or categorical), in schema order."""
        return {name: profile.kind for name, profile in self.columns.items()}


def monitored_kind(schema_kind: str) -> Literal["numeric", "categorical"] | None:
    """How drift treats a schema column: booleans are categories; date-times are not monitored
    (under a time split every live date lies beyond training by design)."""
    if schema_kind == "numeric":
        return "numeric"
    if schema_kind in ("categorical", "boolean"):
        return "categorical"
    return None


def as_categories(values: pd.Series) -> pd.Series:
    """A categorical column as text (missing stays missing): the schema's own category form."""
    return values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v))


def numeric_profile(values: pd.Series) -> NumericProfile:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    present = numbers[np.isfinite(numbers)]
    quantiles = present.quantile(np.linspace(0, 1, QUANTILES + 1)).tolist() if len(present) else []
    return NumericProfile(
        missing_share=rounded(1 - len(present) / max(len(values), 1)),
        mean=rounded(present.mean()) if len(present) else None,
        std=rounded(present.std(ddof=0)) if len(present) else None,
        quantiles=[rounded(q) for q in quantiles],
    )


def categorical_profile(values: pd.Series) -> CategoricalProfile:
    text = as_categories(values)
    counts = text.dropna().value_counts()
    return CategoricalProfile(
        missing_share=rounded(text.isna().mean()) if len(text) else 0.0,
        counts={str(k): int(v) for k, v in sorted(counts.items())},
    )


@dataclass(frozen=True)
class Reference:
    """The profile and the sample (monitored inputs, as the schema types them, plus scores)."""

    profile: ReferenceProfile
    sample: pd.DataFrame

    def files(self) -> dict[str, Callable[[Path], None]]:
        """The bundle files that hold it, each with the function that writes it."""
        return {
            PROFILE_FILE: lambda path: write_json(self.profile.as_json(), path),
            SAMPLE_FILE: lambda path: write_parquet(self.sample, path),
        }


def build_reference(
    train: pd.DataFrame, bundle: Bundle, settings: PackageSettings, test_slices: dict[str, Any]
) -> Reference:
    """Profile the train split's monitored inputs; sample `settings.reference_rows` rows
    (seeded) and score them with the packaged model. `test_slices` (the evaluate stage's
    slice table) is kept so each live slice is compared with the same slice on test."""
    kinds = {c["name"]: monitored_kind(c["kind"]) for c in bundle.schema["columns"]}
    kinds = {name: kind for name, kind in kinds.items() if kind is not None}
    kinds = dict(sorted(kinds.items()))  # the order reference.json (sorted keys) reads back in
    columns: dict[str, ColumnProfile] = {
        name: numeric_profile(train[name]) if kind == "numeric" else categorical_profile(train[name])
        for name, kind in kinds.items()
    }
    rows = train.sample(n=min(settings.reference_rows, len(train)), random_state=settings.reference_seed)
    answers = bundle.predict(rows[bundle.input_columns].reset_index(drop=True))
    scores = answers["probability"] if bundle.task.classification else answers["prediction"]
    sample = pd.DataFrame(
        {
            **{
                name: (as_categories(rows[name]) if kind == "categorical" else rows[name].astype("float64"))
                for name, kind in kinds.items()
            },
            SCORE_COLUMN: scores.astype("float64").to_numpy(),
        }
    ).reset_index(drop=True)
    profile = ReferenceProfile(
        rows=len(train),
        sample_rows=len(sample),
        seed=settings.reference_seed,
        columns=columns,
        score=numeric_profile(sample[SCORE_COLUMN]),
        test_slices=test_slices,
    )
    return Reference(profile, sample)


def read_reference(bundle_dir: Path) -> Reference:
    """The bundle's reference, checked against its manifest; a missing, altered or unreadable
    profile raises LifecycleError saying which."""
    verify_bundle(bundle_dir)
    missing = [name for name in (PROFILE_FILE, SAMPLE_FILE) if not (bundle_dir / name).is_file()]
    if missing:
        raise LifecycleError(
            f"bundle {bundle_dir} has no reference profile ({', '.join(missing)} missing): it was packaged "
            "before monitoring existed; run `dvc repro` to package the model with one"
        )
    try:
        data: Any = json.loads((bundle_dir / PROFILE_FILE).read_text(encoding="utf-8"))
        sample = pd.read_parquet(io.BytesIO((bundle_dir / SAMPLE_FILE).read_bytes()))
    except (ValueError, pyarrow.ArrowInvalid, OSError) as error:
        raise LifecycleError(f"the reference profile of bundle {bundle_dir} is unreadable: {error}") from None
    profile = ReferenceProfile.parse(data, str(bundle_dir / PROFILE_FILE))
    expected = [*profile.columns, SCORE_COLUMN]  # the profile's (sorted) order: JSON sorts its keys
    if sorted(sample.columns) != sorted(expected) or len(sample) != profile.sample_rows:
        raise LifecycleError(
            f"the reference sample of bundle {bundle_dir} does not match its profile "
            f"(columns {list(sample.columns)}, {len(sample)} rows; expected {expected}, {profile.sample_rows} rows)"
        )
    return Reference(profile, sample[expected])
