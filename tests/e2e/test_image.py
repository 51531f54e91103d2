"""The service image, without docker: what the Dockerfile copies exists and is all the build
context holds, it runs as a user of its own, and its command, run in a folder laid out as
the image's /app (the Dockerfile's COPY lines, the packaged bundle), serves the bundle, passes
the smoke test as deploy.yml runs it and the health check, and refuses a bundle whose files do not match its
manifest. Building the image itself is left to .github/workflows/deploy.yml."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.project import ROOT, project_files
from tests.support.serving import ServerProcess

pytestmark = pytest.mark.e2e

BUNDLE = "models/package"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (instruction, arguments), continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(word.upper(), rest.strip()) for word, _, rest in (line.partition(" ") for line in lines)]


def arguments(instruction: str) -> list[str]:
    return [rest for word, rest in instructions() if word == instruction]


def copies() -> list[tuple[list[str], str]]:
    """Each COPY's sources (no trailing slash) and destination."""
    pairs = []
    for line in arguments("COPY"):
        *sources, destination = line.split()
        pairs.append(([source.rstrip("/") for source in sources], destination))
    return pairs


def exec_form(line: str) -> list[str]:
    """The argv of an exec-form CMD (a JSON array): no shell between docker and the process."""
    return json.loads(line.removeprefix("CMD").strip())


def image_folder(folder: Path, bundle_dir: Path) -> Path:
    """`folder` filled as the Dockerfile fills /app by its COPY lines, the bundle from `bundle_dir`."""
    for sources, destination in copies():
        for source in sources:
            origin = bundle_dir if source == BUNDLE else ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, folder / destination, dirs_exist_ok=True)
            else:
                assert destination.endswith("/"), f"COPY {source} {destination}: a file goes into a folder"
                (folder / destination).mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, folder / destination / origin.name)
    return folder


def deploy_smoke(port: int) -> list[str]:
    """The smoke test as .github/workflows/deploy.yml runs it against the container, aimed at `port`."""
    steps = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]["deploy"]["steps"]
    (run,) = [step["run"] for step in steps if "lifecycle smoke" in step.get("run", "")]
    assert "--url http://127.0.0.1:8000 " in run  # the port the container publishes (params.yaml serve.port)
    return shlex.split(run.replace(":8000 ", f":{port} "))


def test_a_slim_python_base_a_user_of_its_own_and_every_copied_file_in_the_project() -> None:
    assert arguments("FROM") == ["python:3.11-slim"]
    (user,) = arguments("USER")
    assert user not in ("root", "0") and any(f"useradd --create-home --uid 10001 {user}" in r for r in arguments("RUN"))
    order = [word for word, _ in instructions()]
    assert order.index("USER") > max(i for i, word in enumerate(order) if word == "RUN")  # nothing after runs as root
    tracked = project_files()
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values()
    outputs = [out if isinstance(out, str) else next(iter(out)) for stage in stages for out in stage.get("outs", [])]
    sources = [source for pair_sources, _ in copies() for source in pair_sources]
    for source in sources:
        in_git = source in tracked or any(name.startswith(source + "/") for name in tracked)
        assert in_git or source in outputs, f"COPY {source}: neither in git nor a DVC output"
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    allowed = sorted(line[1:].rstrip("/") for line in ignore if line.startswith("!"))
    assert ignore[0] == "*" and allowed == sorted(sources)


def test_its_command_serves_the_bundle_passes_the_smoke_test_and_the_health_check(
    bundle_dir: Path, tmp_path: Path
) -> None:
    (line,) = arguments("CMD")
    command = exec_form(line)
    assert command == ["python", "-m", "lifecycle", "serve", "--host", "0.0.0.0"]  # every interface of the container
    folder = image_folder(tmp_path / "app", bundle_dir)
    # the image's command as it is, on a free port of 127.0.0.1 (the last --host wins)
    server = ServerProcess(None, None, cwd=folder, command=[sys.executable, *command[1:]])
    try:
        smoke = subprocess.run(
            [sys.executable, *deploy_smoke(server.port)[1:]],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert smoke.returncode == 0, smoke.stderr + server.output()
        assert f"smoke test passed: {server.url} serves model" in smoke.stderr
        (check,) = arguments("HEALTHCHECK")
        probe = exec_form(check[check.index("CMD") :])
        assert probe[0] == "python" and "http://127.0.0.1:8000/ready" in probe[-1]  # params.yaml serve.port
        health = subprocess.run(
            [sys.executable, *probe[1:-1], probe[-1].replace(":8000/", f":{server.port}/")], capture_output=True
        )
        assert health.returncode == 0, health.stderr
        output = server.stop_gracefully()
    finally:
        server.terminate()
    assert f"from {BUNDLE}" in output and (folder / "logs/predictions.sqlite").is_file()

    # verified before the port is bound: port 1 would fail otherwise, a free port would hang
    (folder / BUNDLE / "model.onnx").write_bytes(b"not the packaged model")
    refused = subprocess.run(
        [sys.executable, *command[1:], "--port", "1"], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(
        f"bundle file {BUNDLE}/model.onnx does not match its SHA-256 in the manifest: refusing to load it"
    )
