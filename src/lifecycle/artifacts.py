"""The JSON files one stage writes and another reads, as typed models.

Each model is the single definition of its file: the writing stage builds it, the
reading stage (or the service) reads it back with `read`, so a key renamed or a value of
the wrong type fails at the boundary with the file's name instead of as a KeyError deep
inside a later stage. Written with sorted keys like every JSON output, so the bytes (and
DVC's hashes) are a function of the content alone.

- `InterimRoles`   data/interim/roles.json     preprocess -> featurize
- `FeatureRoles`   data/features/roles.json    featurize  -> train, evaluate, package
- `SearchResult`   metrics/search.json         search     -> train
- `TrainMetrics`   metrics/train.json          train      -> evaluate, package, review
- `BundleMetadata` models/package/metadata.json package   -> the bundle's readers
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from lifecycle.errors import LifecycleError
from lifecycle.storage import read_json, write_json
from lifecycle.tasks.names import TaskName

# A class label as JSON holds it (text, a number or a boolean).
Label = bool | int | float | str


class Artifact(BaseModel):
    """A JSON file exchanged between stages: immutable, every key declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def read(cls, path: Path) -> Self:
        """Read and check the file an earlier stage wrote; a mismatch names the file and key."""
        return cls.parse(read_json(path), str(path))

    @classmethod
    def parse(cls, data: Any, source: str) -> Self:
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in error.errors())
            raise LifecycleError(f"{source} is not a valid {cls.__name__} ({problems}); run `dvc repro`") from None

    def as_json(self) -> dict[str, Any]:
        """The JSON-ready content (what `write` stores)."""
        return self.model_dump(mode="json")

    def write(self, path: Path) -> None:
        write_json(self.as_json(), path)


class ColumnRole(Artifact):
    """What a column is for, and why: inferred by preprocess or declared in preprocess.roles."""

    role: str
    reason: str


class InterimRoles(Artifact):
    """What featurize must know about the interim tables, without reading preprocess params.

    `excluded` are the outcome columns (known only after the event), the target and its
    source column; `dropped` the columns out by role (identifiers, free text, constants).
    """

    target: str
    task: TaskName
    classes: list[Label] | None
    excluded: list[str]
    dropped: list[str]
    split: Literal["time", "random", "stratified"]
    columns: dict[str, ColumnRole]


class FeatureRoles(Artifact):
    """The model matrix's description: the raw inputs a caller sends (and their roles), the
    output feature names, which of them are ordinal category codes, and the task."""

    target: str
    task: TaskName
    classes: list[Label] | None
    split: Literal["time", "random", "stratified"]
    inputs: list[str]
    roles: dict[str, ColumnRole]
    outputs: list[str]
    categorical_outputs: list[str]


class MeanStd(Artifact):
    """A metric over cross-validation folds."""

    mean: float
    std: float


class ChosenModel(Artifact):
    """A model family and the hyper-parameters chosen for it (those a search varied)."""

    family: str
    params: dict[str, Any]


class SearchResult(Artifact):
    """metrics/search.json: whether model selection ran and, if it did, what it chose (the best
    trial's mean and std of the metric over the cross-validation folds) and how the trials
    ended."""

    enabled: bool
    metric: str | None = None
    trials: dict[str, int] | None = None  # trials by how they ended: complete, pruned, failed
    best: ChosenModel | None = None
    best_trial: int | None = None
    score: MeanStd | None = None
    rows: int | None = None  # the train rows the trials cross-validated on (search.max_rows)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class ThresholdChoice(Artifact):
    """A binary model's decision threshold, chosen on out-of-fold predictions, and how."""

    rule: str
    calibration: str
    validation: dict[str, Any]  # the threshold and the scores at it on the out-of-fold rows

    @property
    def threshold(self) -> float:
        return float(self.validation["threshold"])


class TrainMetrics(Artifact):
    """metrics/train.json: the fitted model's family and hyper-parameters and who chose them,
    cross-validation (mean and std of every metric on train and validation folds), scores of
    the fitted model on its own training rows, for a binary task the decision threshold, and
    warnings when the model may be unable to learn."""

    task: TaskName
    model: ChosenModel | None = None  # None: written before the fitted model was recorded
    chosen_by: Literal["params", "search"] = "params"
    cv: dict[str, MeanStd]
    fit: dict[str, int | float]
    threshold: ThresholdChoice | None = None
    warnings: list[str] = []  # why the model may be unable to learn, naming the params to change

    def cv_mean(self, side: Literal["train", "validation"], metric: str) -> float:
        """The mean over folds of `metric` on the folds' training or validation rows."""
        return self.cv[f"{side}_{metric}"].mean

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)  # no threshold key for other tasks


class Lineage(Artifact):
    """Where the packaged model came from: DVC md5 of its data and model files, and the
    SHA-256 of the project code its pickle runs. Bundles of early development recorded
    more (the git commit): kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)

    data_md5: dict[str, str] = {}
    model_md5: dict[str, str] = {}
    pipeline_code_sha256: str | None = None  # None: packaged before the code was hashed


class BundleMetrics(Artifact):
    """The evaluate stage's test metrics and train's cross-validation summary."""

    test: dict[str, Any]
    cross_validation: dict[str, MeanStd]


class BundleMetadata(Artifact):
    """models/package/metadata.json. Defaults let bundles of earlier releases load: before
    tasks existed every bundle was binary with classes 0 and 1."""

    model_version: str
    target: str
    task: TaskName = "binary"
    classes: list[Label] | None = None
    threshold: float | None = None
    unknown_category: Literal["reject", "accept"]
    rows: dict[str, int]
    model: ChosenModel | None = None  # the fitted family and hyper-parameters (None before 0.2)
    chosen_by: Literal["params", "search"] = "params"
    lineage: Lineage
    params: dict[str, Any]
    metrics: BundleMetrics
    libraries: dict[str, str]
