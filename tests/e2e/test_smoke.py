"""`python -m lifecycle smoke` against real servers: it passes the service of its bundle, and
each failure (nothing listening, not ready, another version or stage, another model under the
same version) is one line and its own exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lifecycle.packaging.bundle import MANIFEST_FILE, METADATA_FILE, load_bundle
from lifecycle.serving.smoke import Exit, SmokeFailure, smoke_rows, smoke_test
from lifecycle.storage import file_digest
from tests.support.pipeline import SecondRun
from tests.support.project import ROOT
from tests.support.serving import ServerProcess

pytestmark = pytest.mark.e2e


def smoke(url: str, bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lifecycle", "smoke", "--url", url, "--bundle", str(bundle), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def relabelled(source: Path, folder: Path, version: str) -> Path:
    """A copy of the bundle in `source` whose metadata claims `version`, its manifest rewritten
    to match: a bundle that passes verification yet is not the model it names."""
    shutil.copytree(source, folder)
    metadata = json.loads((folder / METADATA_FILE).read_text())
    metadata["model_version"] = version
    (folder / METADATA_FILE).write_text(json.dumps(metadata))
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["files"][METADATA_FILE] = file_digest(folder / METADATA_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return folder


def test_the_rows_are_reference_rows_the_schema_accepts(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    rows = smoke_rows(bundle_dir, bundle)
    assert len(rows) == 10 and all(set(row) == set(bundle.input_columns) for row in rows)
    assert bundle.predict(pd.DataFrame(rows))["error"].isna().all()


def test_the_service_of_its_bundle_passes_and_each_failure_has_its_code(
    bundle_dir: Path, second_run: SecondRun, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    served = tmp_path / "served"
    shutil.copytree(bundle_dir, served)
    version = load_bundle(bundle_dir).metadata.model_version
    with ServerProcess(served, url) as server:
        done = smoke(server.url, bundle_dir)
        assert done.returncode == 0, done.stderr
        assert f"smoke test passed: {server.url} serves model {version} and answers 10 reference rows" in done.stderr

        other = second_run.repo.path / "models/package"
        with pytest.raises(SmokeFailure, match="wrong version: the service serves model") as failed:
            smoke_test(server.url, other)
        assert failed.value.code == Exit.WRONG_VERSION
        with pytest.raises(SmokeFailure, match="serves a bundle folder, not the registry's stage prod") as failed:
            smoke_test(server.url, bundle_dir, stage="prod")
        assert failed.value.code == Exit.WRONG_VERSION

        (served / "MODEL_CARD.md").write_text("changed on disk")
        with pytest.raises(SmokeFailure, match="not ready: /ready answered 503: .*MODEL_CARD.md") as failed:
            smoke_test(server.url, bundle_dir)
        assert failed.value.code == Exit.NOT_READY
        server.stop_gracefully()

    done = smoke(server.url, bundle_dir)  # nothing listens there now
    assert done.returncode == Exit.DOWN and "smoke test failed, service down: nothing answers at" in done.stderr
    assert done.stderr.count("\n") == 1  # one line, no traceback

    # another model under the bundle's version: the version matches, the answers do not
    impostor = relabelled(second_run.repo.path / "models/package", tmp_path / "impostor", version)
    with ServerProcess(impostor, url) as server:
        done = smoke(server.url, bundle_dir)
        server.stop_gracefully()
    assert done.returncode == Exit.WRONG_ANSWER and "smoke test failed, wrong answer: row " in done.stderr
