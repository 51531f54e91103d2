"""Champion against challenger: both bundles scored on the same holdout, then the decision.

Why one holdout file, hashed: two models compared on two different sets say nothing about
each other. The holdout is a file of labelled rows (by default the newest test split, which
the preprocess stage writes and DVC tracks); its md5 (the hash DVC records) goes into the
result beside both scores, and only the rows both bundles' schemas can read are scored, so
both models answer exactly the same rows. Each model is scored as the evaluate stage scores
the test split (the task's own metrics on the target as preprocess encodes it), with a
seeded bootstrap interval of the main metric and the evaluate stage's slice table; the
decision is `lifecycle.retraining.decision`'s.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow

from lifecycle.config import ChallengeSettings, EvaluateSettings, MetricThreshold, SliceSettings
from lifecycle.errors import LifecycleError
from lifecycle.evaluation.slices import slice_metrics
from lifecycle.metrics.rounding import rounded
from lifecycle.monitoring.performance import Estimate, bootstrap, main_scorer
from lifecycle.packaging.bundle import Bundle, load_bundle
from lifecycle.packaging.lineage import dvc_md5
from lifecycle.packaging.schema import validate_rows
from lifecycle.retraining.decision import Decision, decide
from lifecycle.storage import file_digest, read_parquet

logger = logging.getLogger(__name__)


class ChallengeError(LifecycleError):
    """A challenge that cannot be judged (exit 2): a holdout without labels, a bundle that
    cannot be read, a champion revision that does not exist."""


@dataclass(frozen=True)
class Holdout:
    """The file both models were scored on, and how many of its rows were scored."""

    path: str
    md5: str
    rows: int
    labelled: int
    scored: int  # labelled rows both schemas can read

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "md5": self.md5, "rows": self.rows, "labelled": self.labelled, "scored": self.scored}


@dataclass(frozen=True)
class ModelScore:
    """One model on the holdout."""

    role: str  # champion | challenger
    bundle: str
    model_version: str
    metrics: dict[str, float]  # the task's test metrics, on the holdout
    headline: tuple[str, ...]  # the task's headline metrics, in its order
    main: Estimate  # the main metric with its bootstrap interval
    slices: dict[str, Any]  # the evaluate stage's slice table, on the holdout

    def as_json(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "model_version": self.model_version,
            "metrics": self.metrics,
            "main": self.main.as_json(),
            "slices": self.slices,
        }


@dataclass(frozen=True)
class ChallengeResult:
    """Everything `metrics/challenge.json` and the report show."""

    holdout: Holdout
    metric: str
    thresholds: dict[str, MetricThreshold]
    champion: ModelScore
    challenger: ModelScore
    decision: Decision

    def as_json(self) -> dict[str, Any]:
        return {
            "holdout": self.holdout.as_json(),
            "metric": self.metric,
            "thresholds": {name: t.model_dump(exclude_none=True) for name, t in self.thresholds.items()},
            "champion": self.champion.as_json(),
            "challenger": self.challenger.as_json(),
            "decision": self.decision.as_json(),
        }


def read_holdout(path: Path) -> tuple[pd.DataFrame, str]:
    """The holdout's rows and md5: a file's read from the bytes that were hashed; a folder of
    Parquet parts (the dask engine's test split) hashed as DVC hashes it, so the md5 is the
    one dvc.lock records either way."""
    if not (path.is_file() or (path.is_dir() and any(path.glob("*.parquet")))):
        raise ChallengeError(f"holdout {path} not found (challenge.holdout; `dvc repro` writes the default one)")
    try:
        if path.is_dir():
            return read_parquet(path), dvc_md5([path])[str(path)]
        data = path.read_bytes()
        frame = pd.read_parquet(io.BytesIO(data)) if path.suffix == ".parquet" else pd.read_csv(io.BytesIO(data))
    except (ValueError, pyarrow.ArrowInvalid, pd.errors.ParserError) as error:
        raise ChallengeError(f"holdout {path} is unreadable: {error}") from None
    return frame, file_digest(path, "md5")


# A category never seen in training is scored, as the evaluate stage scores the test split
# (the encoder has a code for it): the service's policy decides what it answers, not how
# good the model is. Rows with a value the schema cannot read are left out of both scores.
CATEGORY_POLICY = "accept"


def readable(bundle: Bundle, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The bundle's input columns typed by its schema, and which rows it can read (types,
    domains, nulls; any category)."""
    missing = [c for c in bundle.input_columns if c not in frame.columns]
    if missing:
        raise ChallengeError(f"the holdout lacks input column(s) {missing} of model {bundle.metadata.model_version}")
    validated, errors = validate_rows(frame[bundle.input_columns], bundle.schema, CATEGORY_POLICY)
    return validated, np.array([e is None for e in errors], dtype=bool)


def score_model(
    role: str,
    bundle_dir: Path,
    bundle: Bundle,
    rows: pd.DataFrame,
    validated: pd.DataFrame,
    metric: str,
    settings: ChallengeSettings,
) -> ModelScore:
    """The bundle's metrics on `rows` (labelled, read by both schemas; `validated`: its inputs
    as its schema types them) as the evaluate stage computes them on the test split, its main
    metric's interval and slice table."""
    task, classes = bundle.task, bundle.classes
    truth = rows[bundle.metadata.target].to_numpy()
    scores = task.model_scores(bundle.pipeline, validated, classes)
    evaluate = EvaluateSettings.model_validate(bundle.metadata.params.get("evaluate", {}))
    measured = task.evaluate(truth, scores, classes, bundle.metadata.threshold, evaluate).metrics
    metrics = {name: rounded(value) for name, value in measured.items() if isinstance(value, float | int)}
    main = bootstrap(
        main_scorer(task, classes, metric), truth, scores, settings.bootstrap, settings.confidence, settings.seed
    )
    columns = [c for c in evaluate.slices.columns if c in rows.columns]
    slicing = SliceSettings(columns=columns, min_rows=evaluate.slices.min_rows, worst=evaluate.slices.worst)
    slices = slice_metrics(rows, truth, scores, slicing, task, bundle.metadata.threshold, classes)
    return ModelScore(
        role, str(bundle_dir), bundle.metadata.model_version, metrics, task.headline_metrics, main, slices
    )


def thresholds_for(metric: str, settings: ChallengeSettings) -> dict[str, MetricThreshold]:
    """The declared thresholds, or: the main metric no worse than the champion's."""
    if settings.metrics:
        return dict(settings.metrics)
    return {metric: MetricThreshold(min_absolute_change=0.0)}


def run_challenge(
    champion_dir: Path, challenger_dir: Path, holdout_path: Path, settings: ChallengeSettings
) -> ChallengeResult:
    """Score both bundles on the holdout's labelled rows that both accept, then decide.
    Raises ChallengeError when that cannot be done."""
    bundles = {}
    for role, folder in (("champion", champion_dir), ("challenger", challenger_dir)):
        try:
            bundles[role] = load_bundle(folder)
        except LifecycleError as error:
            raise ChallengeError(f"the {role}: {error}") from None
    champion, challenger = bundles["champion"], bundles["challenger"]
    if (champion.task.name, list(champion.classes)) != (challenger.task.name, list(challenger.classes)):
        raise ChallengeError(
            f"the champion is a {champion.task.name} model of classes {champion.classes}, the challenger a "
            f"{challenger.task.name} model of classes {challenger.classes}: they cannot be compared"
        )
    frame, md5 = read_holdout(holdout_path)
    target = challenger.metadata.target
    if target not in frame.columns or frame[target].isna().all():
        raise ChallengeError(f"the holdout {holdout_path} holds no labels (column {target!r} missing or empty)")
    labelled = frame[frame[target].notna()].reset_index(drop=True)
    typed = {role: readable(bundle, labelled) for role, bundle in bundles.items()}
    both = typed["champion"][1] & typed["challenger"][1]
    rows = labelled[both].reset_index(drop=True)
    if rows.empty:
        raise ChallengeError(f"no labelled row of the holdout {holdout_path} can be read by both models' schemas")
    holdout = Holdout(str(holdout_path), md5, len(frame), len(labelled), len(rows))
    metric = challenger.task.main_metric(None, "challenge")
    thresholds = thresholds_for(metric, settings)
    scored = {
        role: score_model(
            role, folder, bundles[role], rows, typed[role][0][both].reset_index(drop=True), metric, settings
        )
        for role, folder in (("champion", champion_dir), ("challenger", challenger_dir))
    }
    decision = decide(
        scored["champion"].metrics,
        scored["challenger"].metrics,
        thresholds,
        scored["champion"].slices,
        scored["challenger"].slices,
        settings,
    )
    logger.info(
        "challenge on %d holdout rows (md5 %s): %s %s (champion) against %s (challenger)",
        len(rows),
        md5,
        metric,
        scored["champion"].main.value,
        scored["challenger"].main.value,
    )
    return ChallengeResult(holdout, metric, thresholds, scored["champion"], scored["challenger"], decision)
