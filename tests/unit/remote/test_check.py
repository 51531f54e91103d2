"""Which remote the check reads, and the one line for a remote it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle.errors import LifecycleError
from lifecycle.remote.check import remote_settings


def _repo(tmp_path: Path, config: str) -> Path:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc/config").write_text(config)
    return tmp_path


STORAGE = """[core]
    remote = storage
['remote "storage"']
    url = s3://team-bucket/projects/lifecycle
    endpointurl = http://127.0.0.1:8333
['remote "backup"']
    url = /mnt/backup/dvc
"""


def test_the_default_remote_and_the_local_config_s_credentials(tmp_path: Path) -> None:
    repo = _repo(tmp_path, STORAGE)
    (repo / ".dvc/config.local").write_text(
        "['remote \"storage\"']\n    access_key_id = k\n    secret_access_key = s\n"
    )
    remote = remote_settings(repo)
    assert (remote.name, remote.bucket, remote.prefix) == ("storage", "team-bucket", "projects/lifecycle")
    assert remote.endpoint == "http://127.0.0.1:8333"
    assert remote.credentials is not None and remote.credentials.access_key_id == "k"
    assert remote.url == "s3://team-bucket/projects/lifecycle"


@pytest.mark.parametrize(
    ("config", "name", "message"),
    [
        ("[core]\n", None, "no DVC remote is named"),
        (STORAGE, "elsewhere", "no DVC remote named 'elsewhere' (configured: backup, storage)"),
        (STORAGE, "backup", "this check knows S3 remotes only"),
    ],
)
def test_a_remote_it_cannot_check_is_named(tmp_path: Path, config: str, name: str | None, message: str) -> None:
    with pytest.raises(LifecycleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        remote_settings(_repo(tmp_path, config), name)


def test_no_credentials_anywhere_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    remote = remote_settings(_repo(tmp_path, STORAGE))
    with pytest.raises(LifecycleError, match="has no credentials: set AWS_ACCESS_KEY_ID"):
        remote.resolved_credentials()
