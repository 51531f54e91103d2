"""The DVC remote on a real S3 server (SeaweedFS on 127.0.0.1, `make s3-up`): authentication
is on; a second clone pulls byte-identical outputs and, through the run cache, reproduces a
change already run elsewhere without recomputing it; the pull-request check pulls instead
of recomputing; and each broken remote costs one line."""

from __future__ import annotations

import re
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from lifecycle.remote.client import Credentials
from tests.support.pipeline import SECOND_RUN_PARAMS, STAGES, FirstRun, PipelineRepo, SecondRun
from tests.support.s3 import S3Server, private_clone, private_prefix, read_only_user, s3_server, use_remote

RETRAINED = ["train", "evaluate", "package"]  # the stages SECOND_RUN_PARAMS makes stale


@dataclass
class Pushed:
    """A clone at the first run's commit that pushed its outputs and the run cache of both
    runs (the first, and the second's higher learning rate) to `url`."""

    server: S3Server
    url: str
    source: PipelineRepo


@pytest.fixture(scope="module")
def pushed(pipeline_run: FirstRun, second_run: SecondRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    """The pushing clone has a DVC cache of its own, filled from the test run's shared cache
    read as a local remote, and records each run in its run cache (`dvc commit -f`): the
    shared cache, which other tests write to while this one pushes, is never pushed from.
    The project's push sends what `dvc push --run-cache` leaves behind: the outputs of the
    second run, no longer in the workspace, and the git-tracked outputs of both."""
    server = s3_server()
    with private_prefix(server) as prefix:
        source = private_clone(pipeline_run.repo.path, tmp_path_factory.mktemp("pushed") / "source")
        source.run("dvc", "remote", "add", "--local", "shared", str(pipeline_run.repo.path / ".dvc" / "cache"))
        url = f"s3://{server.bucket}/{prefix}"
        use_remote(source, url, server.endpoint, server.credentials)
        source.run("git", "fetch", "-q", str(second_run.repo.path), "HEAD")
        for revision in ("FETCH_HEAD", "main"):
            source.run("git", "checkout", "-q", revision)
            source.run("dvc", "fetch", "-q", "--remote", "shared")
            source.run("dvc", "checkout", "-q", "--force")
            source.run("dvc", "commit", "-q", "--force")
        source.run(sys.executable, "-m", "lifecycle", "remote", "push")
        yield Pushed(server, url, source)


def _clone(pushed: Pushed, path: Path) -> PipelineRepo:
    """A clone of the pushing one, with an empty cache, using the same remote."""
    clone = private_clone(pushed.source.path, path)
    use_remote(clone, pushed.url, pushed.server.endpoint, pushed.server.credentials)
    return clone


def _output_files(repo: PipelineRepo) -> list[str]:
    """Every file of every stage output dvc.lock records, relative to the repository."""
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    files = []
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            path = repo.path / out["path"]
            found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            files += [p.relative_to(repo.path).as_posix() for p in found]
    return files


def _skipped_and_cached(output: str) -> tuple[list[str], list[str], list[str]]:
    """(stages that ran, stages left alone as unchanged, stages restored from the run cache)."""
    ran = re.findall(r"Running stage '([^']+)'", output)
    unchanged = re.findall(r"Stage '([^']+)' didn't change, skipping", output)
    cached = re.findall(r"Stage '([^']+)' is cached - skipping run, checking out outputs", output)
    return ran, unchanged, cached


def test_the_server_refuses_unsigned_and_wrongly_signed_requests() -> None:
    server = s3_server()
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{server.endpoint}/{server.bucket}?list-type=2", timeout=10)
    assert unsigned.value.code == 403 and b"AccessDenied" in unsigned.value.read()
    wrong_secret = Credentials(server.credentials.access_key_id, "not-the-secret")
    with pytest.raises(ClientError) as wrongly_signed:
        server.client(wrong_secret).list_objects_v2(Bucket=server.bucket, MaxKeys=1)
    assert wrongly_signed.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    listed = server.client().list_objects_v2(Bucket=server.bucket, MaxKeys=1)
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_second_clone_pulls_byte_identical_outputs(pushed: Pushed, tmp_path: Path) -> None:
    clone = _clone(pushed, tmp_path / "clone")
    assert not (clone.path / "models/package").exists()
    clone.run("dvc", "pull")
    assert "Data and pipelines are up to date." in clone.run("dvc", "status").stdout
    files = _output_files(pushed.source)
    assert "models/model.joblib" in files and any(f.startswith("models/package/") for f in files)
    for name in files:
        assert (clone.path / name).read_bytes() == (pushed.source.path / name).read_bytes(), name


def test_the_run_cache_lets_a_second_clone_reproduce_without_recomputing(
    pushed: Pushed, second_run: SecondRun, tmp_path: Path
) -> None:
    """The clone changes a param that only the other clone ran (never committed here). `dvc pull
    --run-cache` brings the outputs of HEAD and the records of every pushed run, not those runs'
    outputs: `dvc repro --pull` fetches those as it restores the three stale stages."""
    clone = _clone(pushed, tmp_path / "clone")
    clone.set_params(SECOND_RUN_PARAMS)
    clone.run("dvc", "pull", "--run-cache")
    ran, unchanged, cached = _skipped_and_cached(clone.run("dvc", "repro", "--pull").stdout)
    assert ran == []
    assert cached == RETRAINED
    assert unchanged == [s for s in STAGES if s not in RETRAINED]
    assert (clone.path / "dvc.lock").read_text() == (second_run.repo.path / "dvc.lock").read_text()
    assert "Data and pipelines are up to date." in clone.run("dvc", "status").stdout


def test_the_pull_request_check_pulls_instead_of_recomputing(
    pushed: Pushed, second_run: SecondRun, tmp_path: Path
) -> None:
    """The workflow's `dvc repro --pull --allow-missing`: on an unchanged commit nothing runs,
    nothing is downloaded and dvc.lock stays; after a param change the stale stages come from
    the remote's run cache."""
    clone = _clone(pushed, tmp_path / "clone")
    ran, _, _ = _skipped_and_cached(clone.run("dvc", "repro", "--pull", "--allow-missing").stdout)
    assert ran == [] and not (clone.path / "models/model.joblib").exists()
    clone.run("git", "diff", "--quiet", "--", "dvc.lock", "metrics")
    clone.set_params(SECOND_RUN_PARAMS)
    ran, _, cached = _skipped_and_cached(clone.run("dvc", "repro", "--pull", "--allow-missing").stdout)
    assert ran == [] and cached == RETRAINED
    assert (clone.path / "dvc.lock").read_text() == (second_run.repo.path / "dvc.lock").read_text()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_error(repo: PipelineRepo, *arguments: str) -> str:
    """Run `python -m lifecycle remote ...`; it must fail with exactly one error line: that line."""
    done = repo.run(sys.executable, "-m", "lifecycle", "remote", *arguments, check=False)
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    return errors[0]


def test_each_broken_remote_gets_one_clear_line(pipeline_run: FirstRun, tmp_path: Path) -> None:
    server = s3_server()
    repo = private_clone(pipeline_run.repo.path, tmp_path / "clone")
    with private_prefix(server) as prefix:
        url = f"s3://{server.bucket}/{prefix}"
        use_remote(repo, url, server.endpoint, Credentials(server.credentials.access_key_id, "not-the-secret"))
        assert "refuses the credentials" in _one_error(repo, "check")

        use_remote(repo, f"s3://no-such-bucket-{prefix.rsplit('/', 1)[1]}/dvc", server.endpoint, server.credentials)
        missing = _one_error(repo, "check")
        assert "bucket 'no-such-bucket-" in missing and "does not exist" in missing

        down = f"http://127.0.0.1:{_free_port()}"
        use_remote(repo, url, down, server.credentials)
        assert f"no server answers at {down}" in _one_error(repo, "pull")

        with read_only_user(server) as reader:
            use_remote(repo, url, server.endpoint, reader)
            repo.run(sys.executable, "-m", "lifecycle", "remote", "check")  # may read
            assert "refuses writes" in _one_error(repo, "check", "--write")
            assert "refuses writes" in _one_error(repo, "push")
        assert "Contents" not in server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
