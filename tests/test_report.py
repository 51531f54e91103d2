"""The review report on a real repository: two commits with different params."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import pytest

from conftest import PipelineRepo, make_pipeline_repo
from lifecycle.report import Side

pytestmark = pytest.mark.e2e


@dataclass
class TwoCommits:
    repo: PipelineRepo
    base: str
    base_roc: list[dict]


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory: pytest.TempPathFactory) -> TwoCommits:
    """Base: the test params; HEAD: a higher learning rate. Both reproduced and committed."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("review"))
    repo.repro()
    repo.commit("base run")
    base = repo.run("git", "rev-parse", "HEAD").stdout.strip()
    base_roc = repo.read_json("metrics/plots/roc.json")
    repo.set_params({("train", "hist_gradient_boosting", "learning_rate"): 0.3})
    assert repo.repro() == ["train", "evaluate", "package"]
    repo.commit("higher learning rate")
    return TwoCommits(repo, base, base_roc)


def report(repo: PipelineRepo, base: str) -> tuple[int, str, dict]:
    done = repo.run("python", "-m", "lifecycle", "report", "--base", base, "--output", "reports/review.md", check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, (repo.path / "reports/review.md").read_text(), repo.read_json("reports/review.json")


def test_report_numbers_equal_dvc_metrics_diff(two_commits: TwoCommits) -> None:
    repo = two_commits.repo
    _, markdown, review = report(repo, two_commits.base)
    dvc = json.loads(repo.run("dvc", "metrics", "diff", two_commits.base, "--json").stdout)["metrics/evaluate.json"]
    ours = {m["key"]: m for m in review["metrics"] if m["file"] == "metrics/evaluate.json"}
    compared = [key for key in dvc if key in ours]
    assert "roc_auc" in compared and "diagnosis.train" in compared and len(compared) > 20
    for key in compared:
        assert ours[key]["old"] == dvc[key]["old"], key
        assert ours[key]["new"] == dvc[key]["new"], key
        if "diff" in dvc[key]:
            assert ours[key]["diff"] == pytest.approx(dvc[key]["diff"]), key
    roc = ours["roc_auc"]
    assert f"| `roc_auc` | {roc['old']:.4f} | {roc['new']:.4f} | {roc['diff']:+.4f} |" in markdown
    params = {p["key"]: (p["old"], p["new"]) for p in review["params"]}
    assert params == {"train.hist_gradient_boosting.learning_rate": (0.05, 0.3)}


def test_base_plot_data_comes_from_the_base_revision(two_commits: TwoCommits) -> None:
    repo = two_commits.repo
    previous = Path.cwd()
    try:
        os.chdir(repo.path)  # Side reads the project's relative paths
        base, workspace = Side(two_commits.base), Side(None)
    finally:
        os.chdir(previous)
    assert base.plots["roc"] == two_commits.base_roc
    assert workspace.plots["roc"] == repo.read_json("metrics/plots/roc.json")
    assert base.plots["roc"] != workspace.plots["roc"]
    assert base.learning_curve != workspace.learning_curve


def test_review_figures_are_valid_pngs(two_commits: TwoCommits) -> None:
    repo = two_commits.repo
    _, markdown, _ = report(repo, two_commits.base)
    for name in ("roc", "precision_recall", "calibration", "importance", "learning_curve"):
        path = repo.path / "reports/review" / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(path).shape
        assert height > 200 and width > 200
        assert f"![review/{name}.png](review/{name}.png)" in markdown


def _inject_roc_auc(repo: PipelineRepo, change: float) -> None:
    """Move the workspace's test ROC-AUC by `change` relative to the committed value."""
    committed = json.loads(repo.run("git", "show", "HEAD:metrics/evaluate.json").stdout)
    committed["roc_auc"] = round(committed["roc_auc"] + change, 6)
    (repo.path / "metrics/evaluate.json").write_text(json.dumps(committed))


def test_gate_fails_an_injected_regression_and_passes_a_small_improvement(two_commits: TwoCommits) -> None:
    repo = two_commits.repo
    try:
        _inject_roc_auc(repo, -0.02)
        status, markdown, review = report(repo, "HEAD")
        assert status == 1 and review["gate"]["passed"] is False
        assert markdown.splitlines()[3].startswith("**Gate: FAILED**")
        _inject_roc_auc(repo, +0.001)
        status, markdown, review = report(repo, "HEAD")
        assert status == 0 and review["gate"]["passed"] is True
        assert markdown.splitlines()[3].startswith("**Gate: PASSED**")
    finally:
        repo.run("git", "checkout", "--", "metrics/evaluate.json")
