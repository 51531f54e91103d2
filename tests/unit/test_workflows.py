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
