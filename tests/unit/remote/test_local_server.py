"""The local S3 server's credentials and the clone's remote: generated once per user and kept
private, never in a file git tracks; the committed config points at the server `make s3-up` starts."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from dvc.config import Config

from lifecycle.remote.local_server import BUCKET, ENDPOINT, credentials_file, local_credentials, stop, use_in_clone
from tests.support.project import ROOT


@pytest.fixture()
def no_aws_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No AWS pair in the environment, and a config folder of the test's own."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def test_a_generated_pair_is_readable_by_the_user_only_and_reused(no_aws_environment: Path) -> None:
    first = local_credentials()
    path = credentials_file()
    assert path.is_relative_to(no_aws_environment)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_credentials() == first
    assert first.secret_access_key not in repr(first)


def test_the_environment_s_pair_wins(no_aws_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "team-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "team-secret")
    pair = local_credentials()
    assert (pair.access_key_id, pair.secret_access_key) == ("team-key", "team-secret")
    assert not credentials_file().exists()


def test_the_committed_config_names_the_local_server_and_no_credentials() -> None:
    committed = (ROOT / ".dvc/config").read_text()
    assert "access_key_id" not in committed and "secret" not in committed
    repo_level = Config(dvc_dir=ROOT / ".dvc", validate=False).load_one("repo")
    remote = repo_level["remote"][repo_level["core"]["remote"]]
    assert remote["url"].startswith(f"s3://{BUCKET}/")
    assert remote["endpointurl"] == ENDPOINT
    paths = [".dvc/config.local", ".s3/"]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True).stdout
    assert ignored.split() == paths


def test_the_clone_s_credentials_go_to_the_git_ignored_local_config(no_aws_environment: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    shutil.copy(ROOT / ".dvc/config", repo / ".dvc/config")
    pair = local_credentials()
    assert use_in_clone(repo, pair) == "storage"
    assert (repo / ".dvc/config").read_text() == (ROOT / ".dvc/config").read_text()
    remote = Config(dvc_dir=repo / ".dvc")["remote"]["storage"]
    assert (remote["access_key_id"], remote["secret_access_key"]) == (pair.access_key_id, pair.secret_access_key)


def test_stop_leaves_alone_what_this_folder_did_not_start(tmp_path: Path) -> None:
    (tmp_path / "weed.pid").write_text("1\n")  # pid 1 is never weed: nothing to stop, the stale file goes
    stop(tmp_path)
    assert not (tmp_path / "weed.pid").exists()
    stop(tmp_path)  # and without a pid file, nothing at all


def test_make_and_ci_start_the_server_through_the_project_command() -> None:
    dry = subprocess.run(["make", "-n", "s3-up", "s3-down"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "-m lifecycle remote start" in dry and "-m lifecycle remote stop" in dry
    ci = (ROOT / ".ci/run").read_text()
    assert ci.index("make s3-up") < ci.index("make test")
