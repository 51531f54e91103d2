"""The review report on a real repository: two commits with different params."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine

from lifecycle import paths
from lifecycle.config import EvaluateSettings, ReportSettings
from lifecycle.review.report import Side, write_report
from lifecycle.storage import write_json
from lifecycle.tasks.multiclass import MULTICLASS
from lifecycle.tasks.registry import task_named
from lifecycle.tasks.regression import REGRESSION
from tests.support.pipeline import PipelineRepo, SecondRun


@pytest.fixture(scope="module")
def base_roc(second_run: SecondRun) -> list[dict]:
    """The ROC plot data the base revision committed."""
    return json.loads(second_run.repo.run("git", "show", f"{second_run.base}:metrics/plots/roc.json").stdout)


def report(repo: PipelineRepo, base: str, output: Path) -> tuple[int, str, dict]:
    """`python -m lifecycle report`, written outside the repository (which stays as it is)."""
    done = repo.run("python", "-m", "lifecycle", "report", "--base", base, "--output", str(output), check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, output.read_text(), json.loads(output.with_suffix(".json").read_text())


def test_report_numbers_equal_dvc_metrics_diff(second_run: SecondRun, tmp_path: Path) -> None:
    repo = second_run.repo
    _, markdown, review = report(repo, second_run.base, tmp_path / "review.md")
    dvc = json.loads(repo.run("dvc", "metrics", "diff", second_run.base, "--json").stdout)["metrics/evaluate.json"]
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


def test_base_plot_data_comes_from_the_base_revision(second_run: SecondRun, base_roc: list[dict]) -> None:
    repo = second_run.repo
    with contextlib.chdir(repo.path):  # Side reads the project's relative paths
        base, workspace = Side(second_run.base), Side(None)
    assert base.plots["roc"] == base_roc
    assert workspace.plots["roc"] == repo.read_json("metrics/plots/roc.json")
    assert base.plots["roc"] != workspace.plots["roc"]
    assert base.learning_curve != workspace.learning_curve


def test_review_figures_are_valid_pngs(second_run: SecondRun, tmp_path: Path) -> None:
    repo = second_run.repo
    _, markdown, _ = report(repo, second_run.base, tmp_path / "review.md")
    for name in ("roc", "precision_recall", "calibration", "importance", "learning_curve"):
        path = tmp_path / "review" / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(path).shape
        assert height > 200 and width > 200
        assert f"![review/{name}.png](review/{name}.png)" in markdown


def _inject_roc_auc(repo: PipelineRepo, change: float) -> None:
    """Move the workspace's test ROC-AUC by `change` relative to the committed value."""
    committed = json.loads(repo.run("git", "show", "HEAD:metrics/evaluate.json").stdout)
    committed["roc_auc"] = round(committed["roc_auc"] + change, 6)
    (repo.path / "metrics/evaluate.json").write_text(json.dumps(committed))


def test_gate_fails_an_injected_regression_and_passes_a_small_improvement(
    second_run: SecondRun, tmp_path: Path
) -> None:
    repo = PipelineRepo(tmp_path / "repo")  # a clone of its own: the metrics the review reads are in git
    subprocess.run(["git", "clone", "-q", str(second_run.repo.path), str(repo.path)], check=True)
    _inject_roc_auc(repo, -0.02)
    status, markdown, review = report(repo, "HEAD", tmp_path / "failed.md")
    assert status == 1 and review["gate"]["passed"] is False
    assert markdown.splitlines()[3].startswith("**Gate: FAILED**")
    _inject_roc_auc(repo, +0.001)
    status, markdown, review = report(repo, "HEAD", tmp_path / "passed.md")
    assert status == 0 and review["gate"]["passed"] is True
    assert markdown.splitlines()[3].startswith("**Gate: PASSED**")


# --- multiclass and regression: the review of metrics files written by the evaluate code ---


def write_task_metrics(task: str, noise: float) -> None:
    """metrics/ as train and evaluate write them for `task`, from predictions of real labels
    (diabetes progression, wine cultivars) blurred by `noise`: more noise, a worse model."""
    rng = np.random.default_rng(0)
    if task == "regression":
        y = load_diabetes().target
        predicted = y + rng.normal(0, noise * y.std(), len(y))
        result = REGRESSION.evaluate(y, predicted, None, None, EvaluateSettings(seed=0))
        slices = {
            "ranked_by": "r2",
            "worst": [{"slice": "sex=sex_1", "r2": 0.5 - noise, "rows": 235}],
        }
    else:
        data = load_wine()
        classes = [str(name) for name in data.target_names]
        y = np.array([classes[i] for i in data.target])
        logits = np.eye(3)[data.target] * 2 + rng.normal(0, noise * 4, (len(y), 3))
        probability = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        result = MULTICLASS.evaluate(y, probability, classes, None, EvaluateSettings())
        slices = {
            "ranked_by": "accuracy",
            "worst": [{"slice": "colour_band=dark", "accuracy": 0.9, "rows": 59}],
        }
    result.metrics["diagnosis"] = {"verdict": "good fit", "train": 0.9, "validation": 0.8}
    write_json({"task": task, "cv": {}}, paths.TRAIN_METRICS)
    write_json(result.metrics, paths.EVALUATE_METRICS)
    write_json(slices, paths.SLICE_METRICS)
    write_json(
        [{"train_size": 100, "train_score": 0.9, "validation_score": 0.8 - noise}],
        paths.LEARNING_CURVE,
    )
    for name, data in result.plots.items():
        if name.endswith(".json"):
            write_json(data, paths.plot_data(name))
    write_json(
        [{"feature": "bmi", "importance": 0.2 - noise, "std": 0.01}],
        paths.plot_data("importance.json"),
    )


FIGURES = {
    "regression": {"predicted_vs_actual", "residual_histogram", "importance", "learning_curve"},
    "multiclass": {"importance", "learning_curve"},
}


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_report_of_a_task_gates_on_its_metric(task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    write_task_metrics(task, noise=0.1)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    write_task_metrics(task, noise=0.6)  # the workspace's model is clearly worse

    result = write_report("HEAD", ReportSettings(), Path("reports/review.md"))
    metric = task_named(task).default_metric
    assert (result.metric, result.passed) == (metric, False)
    assert result.new < result.old - 0.005
    review = json.loads(Path("reports/review.json").read_text())
    assert review["task"] == task and review["gate"]["metric"] == metric
    headline = [m["key"] for m in review["metrics"] if m["key"] in task_named(task).headline_metrics]
    assert sorted(headline) == sorted(task_named(task).headline_metrics)
    assert all(m["verdict"] == "worse" for m in review["metrics"] if m["key"] in task_named(task).headline_metrics)
    markdown = Path("reports/review.md").read_text()
    assert markdown.splitlines()[3].startswith(f"**Gate: FAILED**: `{metric}`")
    assert f"| `{metric}` |" in markdown and "| `roc_auc` |" not in markdown
    worst = "test R²" if task == "regression" else "test accuracy"
    assert f"## Worst slices ({worst})" in markdown
    drawn = {p.stem for p in Path("reports/review").glob("*.png")}
    assert drawn == FIGURES[task]
    assert all(f"![review/{name}.png](review/{name}.png)" in markdown for name in drawn)
