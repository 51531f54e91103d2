"""An S3 client for probing a server: botocore, the library DVC's S3 plugin signs with.

Timeouts are short and retries off, so that a server that is down is reported in seconds
rather than after botocore's backoff; the probes are single small requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import botocore.session
from botocore.client import BaseClient
from botocore.config import Config


@dataclass(frozen=True)
class Credentials:
    """An access key pair; `repr` shows the key id only, so a log line never holds a secret."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r})"


def s3_client(
    endpoint: str | None,
    credentials: Credentials,
    *,
    region: str | None = None,
    session_token: str | None = None,
    verify: bool | str | None = None,
) -> BaseClient:
    """A client for `endpoint` (None: AWS itself) that signs with `credentials`."""
    session = botocore.session.Session()
    config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 1})
    return session.create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=region or "us-east-1",
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=session_token,
        verify=verify,
        config=config,
    )
