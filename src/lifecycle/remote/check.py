"""Why a DVC remote on S3 fails, in one sentence.

`dvc push` and `dvc pull` report a refused credential, a missing bucket or a server that is
down as an "unexpected error" holding botocore's text, and a remote that refuses writes as
one "failed to transfer" line per file. `check_remote` sends the two requests that tell
these apart (a listing, then, for a push, a small write that it removes again) with the
settings DVC would use, and raises a `LifecycleError` that names the remote, what failed
and what to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
from botocore.client import BaseClient
from botocore.exceptions import ClientError, EndpointConnectionError
from dvc.config import Config

from lifecycle.errors import LifecycleError
from lifecycle.remote.client import Credentials, s3_client

logger = logging.getLogger(__name__)

# Codes S3 servers answer for a key they do not know or a signature made with another secret
REFUSED_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
WRITE_PROBE = "lifecycle-write-check"


@dataclass(frozen=True)
class RemoteSettings:
    """The settings of one S3 remote as DVC merges them (.dvc/config, then .dvc/config.local)."""

    name: str
    bucket: str
    prefix: str
    endpoint: str | None
    credentials: Credentials | None
    session_token: str | None
    profile: str | None
    region: str | None
    ssl_verify: bool | str | None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def where(self) -> str:
        return f"remote '{self.name}' ({self.url} at {self.endpoint or 'AWS S3'})"

    def resolved_credentials(self) -> tuple[Credentials, str | None]:
        """The key pair and session token DVC would sign with: the remote's own, else those
        botocore finds (the environment, the profile, the AWS files), as dvc-s3 does."""
        if self.credentials:
            return self.credentials, self.session_token
        found = botocore.session.Session(profile=self.profile).get_credentials()
        if found is None:
            raise LifecycleError(
                f"{self.where} has no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                f"`dvc remote modify --local {self.name} access_key_id ...` and `... secret_access_key ...`"
            )
        frozen = found.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key), self.session_token or frozen.token


def remote_settings(root: Path, name: str | None = None) -> RemoteSettings:
    """The named remote of the repository at `root`, else its default remote."""
    config = Config(dvc_dir=root / ".dvc")
    name = name or config["core"].get("remote")
    if not name:
        raise LifecycleError("no DVC remote is named: pass --remote NAME or set one with `dvc remote default NAME`")
    remotes = config["remote"]
    if name not in remotes:
        raise LifecycleError(f"no DVC remote named '{name}' (configured: {', '.join(sorted(remotes)) or 'none'})")
    remote = remotes[name]
    url = urlsplit(remote["url"])
    if url.scheme != "s3":
        raise LifecycleError(f"remote '{name}' is {remote['url']}: this check knows S3 remotes only (s3://...)")
    key, secret = remote.get("access_key_id"), remote.get("secret_access_key")
    return RemoteSettings(
        name=name,
        bucket=url.netloc,
        prefix=url.path.strip("/"),
        endpoint=remote.get("endpointurl"),
        credentials=Credentials(key, secret) if key and secret else None,
        session_token=remote.get("session_token"),
        profile=remote.get("profile"),
        region=remote.get("region"),
        ssl_verify=remote.get("ssl_verify"),
    )


def check_remote(remote: RemoteSettings, *, write: bool = False) -> None:
    """Raise a `LifecycleError` naming the first problem `dvc pull` (or, with `write`, `dvc push`)
    would meet on `remote`; return quietly when there is none."""
    credentials, token = remote.resolved_credentials()
    client = s3_client(
        remote.endpoint, credentials, region=remote.region, session_token=token, verify=remote.ssl_verify
    )
    try:
        client.list_objects_v2(Bucket=remote.bucket, Prefix=remote.prefix, MaxKeys=1)
        if write:
            _probe_write(client, remote)
    except EndpointConnectionError:
        raise LifecycleError(
            f"{remote.where}: no server answers at {remote.endpoint or 'AWS S3'}. Start the local one with "
            f"`make s3-up`, or point the remote at yours: `dvc remote modify --local {remote.name} endpointurl URL`"
        ) from None
    except ClientError as error:
        raise LifecycleError(_refusal(remote, credentials.access_key_id, error)) from None
    logger.info("%s answers, accepts the credentials and %s", remote.where, "takes writes" if write else "lists")


def _probe_write(client: BaseClient, remote: RemoteSettings) -> None:
    """Write an empty object under the remote's prefix and remove it. A remote may allow
    writes but not deletes (DVC never deletes on push): then the empty probe stays."""
    key = f"{remote.prefix}/{WRITE_PROBE}".lstrip("/")
    client.put_object(Bucket=remote.bucket, Key=key, Body=b"")
    try:
        client.delete_object(Bucket=remote.bucket, Key=key)
    except ClientError as error:
        logger.warning("could not remove the empty s3://%s/%s after the write check: %s", remote.bucket, key, error)


def _refusal(remote: RemoteSettings, key_id: str, error: ClientError) -> str:
    """One sentence for an S3 error answer, by its code and the request that got it."""
    code = error.response.get("Error", {}).get("Code", "")
    operation = error.operation_name
    if code in REFUSED_CREDENTIALS:
        return (
            f"{remote.where} refuses the credentials (access key {key_id!r}: {code}): check AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY, or access_key_id and secret_access_key in .dvc/config.local"
        )
    if code == "NoSuchBucket":
        return (
            f"{remote.where}: bucket '{remote.bucket}' does not exist. Create it, or change the remote's url "
            f"(`dvc remote modify --local {remote.name} url s3://BUCKET/PATH`)"
        )
    if code == "AccessDenied" and operation == "PutObject":
        return (
            f"{remote.where} refuses writes (access key {key_id!r} may read but not write): `dvc push` needs "
            f"s3:PutObject on s3://{remote.bucket}/{remote.prefix}; ask for write access or push with other credentials"
        )
    if code == "AccessDenied":
        return f"{remote.where} refuses to list s3://{remote.bucket}/{remote.prefix} to access key {key_id!r}"
    return f"{remote.where} answered {operation} with {code or error}: {error.response.get('Error', {}).get('Message')}"
