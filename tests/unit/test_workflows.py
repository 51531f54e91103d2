"""The GitHub workflows are valid (actionlint) and do what the README promises."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.support.project import ROOT, tool

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def test_actionlint_finds_no_problem() -> None:
    actionlint = tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install -r requirements-dev.txt)")
    done = subprocess.run([actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_pr_workflow_checks_the_lock_reports_and_updates_one_comment() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/pr-report.yml").read_text())
    steps = workflow["jobs"]["review"]["steps"]
    text = yaml.safe_dump(steps)
    assert any(s.get("with", {}).get("cache") == "pip" for s in steps)
    assert "dvc repro" in text and "git diff --quiet -- dvc.lock metrics" in text
    commands = "\n".join(s.get("run", "") for s in steps)
    assert "python -m lifecycle remote check" in commands and "dvc repro --pull --allow-missing" in commands
    assert "python -m lifecycle report" in text
    assert "<!-- lifecycle-review -->" in text and "updateComment" in text
    assert workflow["jobs"]["review"]["steps"][0]["with"]["fetch-depth"] == 0


def test_pr_workflow_takes_remote_credentials_from_secrets_only() -> None:
    """The remote's key pair reaches the job as environment variables from the repository's
    secrets; no step writes a literal credential."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/pr-report.yml").read_text())
    pulling = next(s for s in workflow["jobs"]["review"]["steps"] if "--pull" in s.get("run", ""))
    assert pulling["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.DVC_REMOTE_ACCESS_KEY_ID }}"
    assert pulling["env"]["AWS_SECRET_ACCESS_KEY"] == "${{ secrets.DVC_REMOTE_SECRET_ACCESS_KEY }}"
    assert "access_key" not in pulling["run"]


def test_push_workflow_runs_the_readme_test_command() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/tests.yml").read_text())
    commands = [s.get("run") for s in workflow["jobs"]["test"]["steps"]]
    assert "make test" in commands
    assert "make s3-up" in commands and commands.index("make s3-up") < commands.index("make test")


def test_monitor_workflow_judges_on_schedule_uploads_and_dispatches_retraining_on_an_alert() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/monitor.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the `on` key as true
    assert triggers["schedule"] and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["monitor"]["steps"]
    judge = next(s for s in steps if s.get("id") == "monitor")
    assert "python -m lifecycle monitor" in judge["run"] and "secrets.MONITOR_DATABASE_URL" in str(judge["env"])
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and "reports/monitor/" in upload["with"]["path"]
    dispatch = steps[-1]
    assert dispatch["if"] == "steps.monitor.outputs.code == '1'" and "event_type=monitor-alert" in dispatch["run"]


def _workflow(name: str) -> dict:
    workflow = yaml.safe_load((ROOT / f".github/workflows/{name}").read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def test_retraining_starts_on_the_monitors_alert_and_keeps_one_pull_request() -> None:
    retrain, monitor = _workflow("retrain.yml"), _workflow("monitor.yml")
    assert {"schedule", "workflow_dispatch", "repository_dispatch"} <= set(retrain["on"])
    dispatched = "\n".join(s.get("run", "") for s in monitor["jobs"]["monitor"]["steps"])
    assert all(f"event_type={kind}" in dispatched for kind in retrain["on"]["repository_dispatch"]["types"])
    steps = retrain["jobs"]["retrain"]["steps"]
    commands = "\n".join(s.get("run", "") for s in steps)
    assert "dvc repro -f -s collect" in commands and "python -m lifecycle challenge --champion-stage prod" in commands
    assert "gh pr list --head retrain" in commands and "git push --force origin retrain" in commands
    assert steps[0]["with"]["fetch-depth"] == 0  # the registry's tags


def test_a_merge_promotes_only_through_the_gated_command() -> None:
    promote = _workflow("promote.yml")
    assert promote["on"]["push"] == {"branches": ["main"], "paths": ["dvc.lock"]}
    commands = "\n".join(s.get("run", "") for s in promote["jobs"]["promote"]["steps"])
    assert "python -m lifecycle promote --stage prod" in commands and "git push origin --tags" in commands
    assert "gto assign" not in commands  # no way around the challenge's gate
    # its token's tag push starts no workflow, so it starts the deployment on the new tag
    assert "gh workflow run deploy.yml --ref" in commands and promote["permissions"]["actions"] == "write"


def test_a_prod_tag_deploys_the_image_of_its_bundle_only_once_it_passed_the_smoke_test() -> None:
    deploy = _workflow("deploy.yml")
    assert deploy["on"]["push"] == {"tags": ["model#prod#*"]} and "workflow_dispatch" in deploy["on"]
    steps = deploy["jobs"]["deploy"]["steps"]
    commands = [s.get("run", "") for s in steps]
    order = [
        next(i for i, run in enumerate(commands) if part in run)
        for part in (
            "dvc pull models/package",
            "docker build",
            "docker run",
            "python -m lifecycle smoke --url http://127.0.0.1:8000 --bundle models/package",
            "docker push",
        )
    ]
    assert order == sorted(order)
    assert "127.0.0.1:8000:8000" in commands[order[2]]  # the container's port, on the runner's loopback only
    push = steps[order[-1]]
    assert push["if"] == "vars.IMAGE_REPOSITORY != ''" and "secrets.IMAGE_REGISTRY_PASSWORD" in str(push["env"])


def test_main_pushes_its_outputs_and_every_workflow_reaches_the_remote_the_same_way() -> None:
    outputs = _workflow("outputs.yml")
    assert outputs["on"]["push"]["branches"] == ["main"] and "dvc.lock" in outputs["on"]["push"]["paths"]
    commands = "\n".join(s.get("run", "") for s in outputs["jobs"]["push"]["steps"])
    assert "dvc repro --pull --allow-missing" in commands and "python -m lifecycle remote push" in commands
    for name in ("pr-report.yml", "monitor.yml", "retrain.yml", "promote.yml", "outputs.yml", "deploy.yml"):
        text = (ROOT / ".github/workflows" / name).read_text()
        assert "make remote-from-env" in text, name
        assert "secrets.DVC_REMOTE_ACCESS_KEY_ID" in text and "secrets.DVC_REMOTE_SECRET_ACCESS_KEY" in text, name
        assert "secrets.AWS_" not in text, name
