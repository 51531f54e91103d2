"""The model registry is git: GTO tags on the commits whose dvc.lock names each bundle.

Why git tags (GTO, the DVC ecosystem's registry) rather than a registry database: a
promotion is then a reviewable, revertible fact beside the code and data that made the
model. dvc.yaml declares the packaged bundle as the artifact `model`; a version is a tag
`model@vX.Y.Z` on a commit (`gto register`), a deployment the tag `model#prod#N`
(`gto assign`); the stage's latest assignment wins, so a rollback is assigning the previous
version again. The bundle of any version is `dvc get` of `models/package` at its commit.

`promote` assigns a stage only after a challenge judged the very bundle that HEAD's
dvc.lock names, and found that it wins.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gto import api as gto
from gto.exceptions import ArtifactNotFound, GTOException

from lifecycle import paths
from lifecycle.config import RegistryRef
from lifecycle.errors import LifecycleError
from lifecycle.packaging.bundle import load_bundle

logger = logging.getLogger(__name__)

ARTIFACT = "model"  # dvc.yaml `artifacts:`: models/package


class PromotionRefused(LifecycleError):
    """The gate did not pass (exit 1): no challenge won by this bundle."""


@dataclass(frozen=True)
class RegistryVersion:
    """A registered version of the model and the commit it names."""

    version: str
    commit: str


def _versions(repo: Path) -> list[dict[str, Any]]:
    """Every version of the artifact, each with the stages it holds now (as `gto show`)."""
    try:
        return gto.show(str(repo), ARTIFACT)
    except ArtifactNotFound:  # declared, never registered
        return []
    except GTOException as error:
        raise LifecycleError(f"cannot read the registry of {repo}: {error}") from None


def stage_version(repo: Path, stage: str) -> RegistryVersion:
    """The version the stage names now: its latest assignment, as `gto show` reads it."""
    found = [v for v in _versions(repo) if any(s["stage"] == stage for s in v["stages"])]
    if not found:
        raise LifecycleError(
            f"no version of {ARTIFACT!r} is in stage {stage!r} (`gto show` lists the registry; "
            f"the first one: `gto register {ARTIFACT} HEAD && gto assign {ARTIFACT} --stage {stage}`)"
        )
    return RegistryVersion(found[0]["version"], found[0]["commit_hexsha"])


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


def check_gate(challenge: Path, bundle_dir: Path) -> dict[str, Any]:
    """The challenge's result, if it judged this bundle and the challenger won; else raise."""
    if not challenge.is_file():
        raise LifecycleError(f"no challenge result at {challenge}: run `python -m lifecycle challenge` first")
    result = json.loads(challenge.read_text(encoding="utf-8"))
    bundle = load_bundle(bundle_dir)
    judged = result["challenger"]["model_version"]
    if judged != bundle.metadata.model_version:
        raise PromotionRefused(
            f"the challenge judged model {judged}, but {bundle_dir} is model {bundle.metadata.model_version}: "
            "run the challenge again"
        )
    decision = result["decision"]
    if not decision["challenger_wins"]:
        raise PromotionRefused(f"the challenger lost its challenge, not promoted: {decision['reasons'][0]}")
    return result


def promote(repo: Path, stage: str, challenge: Path, bundle_dir: Path = paths.PACKAGE_DIR) -> RegistryVersion:
    """Register HEAD (unless a version already names it) and assign it `stage`, once the
    challenge in `challenge` found that HEAD's bundle wins. Raises PromotionRefused when the
    gate fails, LifecycleError when HEAD cannot be promoted."""
    check_gate(challenge, bundle_dir)
    if _git(repo, "diff", "--quiet", "HEAD", "--", "dvc.lock").returncode != 0:
        raise LifecycleError("dvc.lock has uncommitted changes: commit them, the registry names a commit")
    head = _git(repo, "rev-parse", "HEAD").stdout.strip()
    try:
        versions = _versions(repo)  # registering adds a version, never a stage: read once
        registered = [v for v in versions if v["commit_hexsha"] == head and v["registrations"]]
        version = registered[0]["version"] if registered else gto.register(str(repo), ARTIFACT, "HEAD").version
        current = [v["version"] for v in versions if any(s["stage"] == stage for s in v["stages"])]
        if current == [version]:
            logger.info("%s %s is already in stage %s", ARTIFACT, version, stage)
            return RegistryVersion(version, head)
        gto.assign(str(repo), ARTIFACT, stage, version=version, force=True)  # force: a version may come back
    except GTOException as error:
        raise LifecycleError(f"the registry refused: {error}") from None
    promoted = RegistryVersion(version, head)
    logger.info(
        "%s %s (commit %s) is now in stage %s; publish with `git push --tags`", ARTIFACT, version, head[:12], stage
    )
    return promoted


def served_version(repo: Path, stage: str | None = None, revision: str | None = None) -> RegistryRef:
    """What `serve --stage` / `--rev` serves: the stage's version, or a revision with the
    version and stage that name its commit, if any."""
    if stage is not None:
        named = stage_version(repo, stage)
        return RegistryRef(artifact=ARTIFACT, version=named.version, stage=stage, commit=named.commit)
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise LifecycleError(f"revision {revision!r} does not exist in {repo.resolve()}")
    commit = found.stdout.strip()
    versions = [v for v in _versions(repo) if v["commit_hexsha"] == commit and v["registrations"]]
    stages = [s["stage"] for v in versions for s in v["stages"]]
    return RegistryRef(
        artifact=ARTIFACT,
        version=versions[0]["version"] if versions else None,
        stage=stages[0] if stages else None,
        commit=commit,
    )
