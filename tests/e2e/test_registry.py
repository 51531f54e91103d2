"""The registry in git (GTO): a retrained model is promoted only after it won its challenge
against the version in `prod`, and rolling back is assigning the previous version again.
Real repositories, real `dvc repro`, real git tags."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lifecycle.retraining.registry import RegistryVersion, stage_version
from lifecycle.serving.reload import ADMIN_TOKEN
from tests.support.pipeline import SECOND_RUN_PARAMS, PipelineRepo
from tests.support.serving import ServerProcess

pytestmark = pytest.mark.e2e

TOKEN = "a-test-token-for-reloads"


def lifecycle(repo: PipelineRepo, *args: str) -> tuple[int, str]:
    done = repo.run("python", "-m", "lifecycle", *args, check=False)
    return done.returncode, done.stderr


def prod_tags(repo: PipelineRepo) -> list[str]:
    return [t for t in repo.run("git", "tag").stdout.split() if t.startswith("model#prod#")]


def model_version(repo: PipelineRepo, relative: str = "models/package") -> str:
    return repo.read_json(f"{relative}/metadata.json")["model_version"]


def test_promotion_follows_the_challenge_and_a_rollback_restores_the_previous_version(
    pipeline_clone: PipelineRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = pipeline_clone
    code, said = lifecycle(repo, "challenge", "--champion-stage", "prod")
    assert code == 2 and "no version of 'model' is in stage 'prod'" in said
    repo.run("gto", "register", "model", "HEAD")  # the first model, by hand as the README says
    repo.run("gto", "assign", "model", "--stage", "prod")
    first = RegistryVersion("v0.0.1", repo.head())
    first_model = model_version(repo)
    assert stage_version(repo.path, "prod") == first

    repo.set_params(SECOND_RUN_PARAMS)  # retrained with a higher learning rate
    repo.repro()  # may restore the stages from the run cache the clones share
    repo.commit("retrained")
    second_model = model_version(repo)
    assert second_model != first_model

    # a gate no model passes: the challenger loses, nothing is promoted
    repo.set_params({("challenge", "metrics"): {"roc_auc": {"threshold": 1.0}}})
    code, said = lifecycle(repo, "challenge", "--champion-stage", "prod")
    assert code == 1 and "is not at least the threshold 1" in said
    assert repo.read_json("metrics/challenge.json")["champion"]["model_version"] == first_model
    code, said = lifecycle(repo, "promote")
    assert code == 1 and "the challenger lost its challenge, not promoted" in said
    assert stage_version(repo.path, "prod") == first

    # a gate it passes: promoted, a new version registered on HEAD
    repo.set_params({("challenge", "metrics"): {"roc_auc": {"threshold": 0.0}}, ("challenge", "slice_tolerance"): 1.0})
    assert lifecycle(repo, "challenge", "--champion-stage", "prod")[0] == 0
    assert lifecycle(repo, "promote")[0] == 0
    second = RegistryVersion("v0.0.2", repo.head())
    assert stage_version(repo.path, "prod") == second
    tags = repo.run("git", "tag").stdout.split()
    assert {"model@v0.0.1", "model@v0.0.2", "model#prod#1"} <= set(tags) and len(tags) == 4
    assert lifecycle(repo, "promote")[0] == 0 and len(repo.run("git", "tag").stdout.split()) == 4  # already there

    # the service serves what the stage names, says which version and stage it is, and a
    # reload after a rollback (the previous version assigned again) serves the stage anew
    monkeypatch.setenv(ADMIN_TOKEN, TOKEN)
    with ServerProcess(
        repo.path / "models/package", f"sqlite:///{tmp_path / 'log.sqlite'}", ["--stage", "prod"], repo.path
    ) as server:
        served = httpx.get(f"{server.url}/metadata").json()
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        unchanged = httpx.post(f"{server.url}/admin/reload", headers=bearer, timeout=120)
        repo.run("gto", "assign", "model", "--version", "v0.0.1", "--stage", "prod", "--force")
        rolled_back = httpx.post(f"{server.url}/admin/reload", headers=bearer, timeout=120)
        after = httpx.get(f"{server.url}/metadata").json()
        # a stage that names nothing: refused, the served model stays (the tags are put back after)
        stage_tags = {t: repo.run("git", "rev-parse", f"refs/tags/{t}").stdout.strip() for t in prod_tags(repo)}
        repo.run("git", "tag", "-d", *stage_tags)
        nothing = httpx.post(f"{server.url}/admin/reload", headers=bearer, timeout=120)
        still = httpx.get(f"{server.url}/metadata").json()["model_version"]
        for tag, tag_object in stage_tags.items():
            repo.run("git", "update-ref", f"refs/tags/{tag}", tag_object)
        server.stop_gracefully()
    assert served["model_version"] == second_model
    assert served["registry"] == {"artifact": "model", "version": "v0.0.2", "stage": "prod", "commit": second.commit}
    assert unchanged.status_code == 200 and unchanged.json()["model_version"] == second_model
    assert rolled_back.status_code == 200, rolled_back.text
    assert rolled_back.json() == {"reloaded": True, "model_version": first_model, "previous": second_model}
    assert after["model_version"] == first_model
    assert after["registry"] == {"artifact": "model", "version": "v0.0.1", "stage": "prod", "commit": first.commit}
    assert nothing.status_code == 409 and "no version of 'model' is in stage 'prod'" in nothing.json()["error"]
    assert still == first_model

    # rollback: the champion is the previous version's bundle once more
    assert stage_version(repo.path, "prod") == first
    assert lifecycle(repo, "challenge", "--champion-stage", "prod")[0] == 0
    assert repo.read_json("metrics/challenge.json")["champion"]["model_version"] == first_model
    with ServerProcess(
        repo.path / "models/package", f"sqlite:///{tmp_path / 'log2.sqlite'}", ["--rev", first.commit], repo.path
    ) as server:
        served = httpx.get(f"{server.url}/metadata").json()
        server.stop_gracefully()
    assert served["model_version"] == first_model
    assert served["registry"] == {"artifact": "model", "version": "v0.0.1", "stage": "prod", "commit": first.commit}


def test_a_promotion_without_a_challenge_of_this_bundle_is_refused(
    pipeline_clone: PipelineRepo, tmp_path: Path
) -> None:
    repo = pipeline_clone
    code, said = lifecycle(repo, "promote", "--challenge", str(tmp_path / "none.json"))
    assert code == 2 and "no challenge result" in said
    other = tmp_path / "other.json"
    other.write_text('{"challenger": {"model_version": "0123456789ab"}, "decision": {"challenger_wins": true}}')
    code, said = lifecycle(repo, "promote", "--challenge", str(other))
    assert code == 1 and "the challenge judged model 0123456789ab" in said
    assert repo.run("git", "tag").stdout.strip() == ""


def test_serving_a_stage_or_tag_that_does_not_exist_stops_in_one_line(pipeline_clone: PipelineRepo) -> None:
    """Before a port is bound (port 1 would fail otherwise): one error line, no traceback."""
    cases = [
        (["--stage", "prod"], "no version of 'model' is in stage 'prod'"),
        (["--rev", "model@v9.9.9"], "revision 'model@v9.9.9' does not exist in"),
    ]
    for args, message in cases:
        code, said = lifecycle(pipeline_clone, "serve", *args, "--port", "1")
        errors = [line for line in said.splitlines() if " ERROR " in line]
        assert code == 1 and len(errors) == 1 and message in errors[0] and "Traceback" not in said, said
