"""The real `dvc repro` of the whole pipeline, in a temporary git repository, on a sample."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lifecycle.review.comparison import flatten
from tests.support.pipeline import STAGES, FirstRun, PipelineRepo, SecondRun


def test_first_repro_runs_all_six_stages_in_order(pipeline_run: FirstRun) -> None:
    assert pipeline_run.stages == STAGES


def test_metrics_exist_and_are_sane(pipeline_run: FirstRun) -> None:
    repo = pipeline_run.repo
    evaluate = repo.read_json("metrics/evaluate.json")
    assert 0.6 < evaluate["roc_auc"] <= 1.0
    confusion = evaluate["confusion"]
    assert sum(confusion.values()) == evaluate["rows"] > 1000
    assert 0.0 < evaluate["brier"] < 0.25
    train = repo.read_json("metrics/train.json")
    assert 0.6 < train["cv"]["validation_roc_auc"]["mean"] <= 1.0
    collect = repo.read_json("metrics/collect.json")
    assert collect["flights"]["rows"] == 20000
    assert collect["weather"]["rows"] == 26115
    report = repo.read_json("metrics/preprocess.json")
    assert report["dropped"]["missing_target"] > 0
    assert report["output_rows"]["train"] + report["output_rows"]["test"] + report["dropped"]["missing_target"] == 20000
    for name in ("roc.json", "precision_recall.json", "calibration.json", "importance.json", "confusion.csv"):
        assert (repo.path / "metrics/plots" / name).stat().st_size > 0
    for name in (
        "evaluate/roc",
        "evaluate/precision_recall",
        "evaluate/calibration",
        "evaluate/confusion",
        "evaluate/importance",
        "train/learning_curve",
    ):
        assert (repo.path / f"reports/{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    evaluate_diagnosis = evaluate["diagnosis"]
    assert evaluate_diagnosis["verdict"] in ("underfit", "overfit", "good fit")
    assert evaluate["lift"]["prior"]["roc_auc"] > 0
    slices = repo.read_json("metrics/slices.json")
    assert set(slices["by_column"]) == {"carrier", "origin"} and slices["worst"]
    assert len(repo.read_json("metrics/learning_curve.json")) == 3
    curve = repo.read_json("metrics/train_live/plots/custom/training_curve.json")
    assert len(curve) > 10 and curve[-1]["train"] < curve[0]["train"]  # boosting rounds
    assert all(row["validation"] > 0 for row in curve)  # early stopping measured it every round


def test_second_repro_runs_nothing(pipeline_clone: PipelineRepo) -> None:
    repo = pipeline_clone
    assert repo.run("dvc", "status", "--json").stdout.strip() == "{}"
    assert repo.repro() == []


def test_train_param_change_reruns_exactly_train_evaluate_package(second_run: SecondRun) -> None:
    """The second run changed train.hist_gradient_boosting.learning_rate and committed."""
    assert second_run.stages == ["train", "evaluate", "package"]
    repo = second_run.repo
    diff = json.loads(repo.run("dvc", "metrics", "diff", "HEAD~1", "--json").stdout)
    changed = diff["metrics/evaluate.json"]
    assert changed["roc_auc"]["old"] != changed["roc_auc"]["new"]
    assert changed["roc_auc"]["diff"] == pytest.approx(changed["roc_auc"]["new"] - changed["roc_auc"]["old"])
    params = json.loads(repo.run("dvc", "params", "diff", "HEAD~1", "--json").stdout)
    learning_rate = params["params.yaml"]["train.hist_gradient_boosting.learning_rate"]
    assert (learning_rate["old"], learning_rate["new"]) == (0.05, 0.3)


def test_a_second_run_from_scratch_gives_the_same_lock(pipeline_run: FirstRun, tmp_path: Path) -> None:
    """Another repository, another folder, no cache: every hash in dvc.lock is the first run's."""
    repo = PipelineRepo(tmp_path / "scratch")
    subprocess.run(["git", "clone", "-q", str(pipeline_run.repo.path), str(repo.path)], check=True)
    for output in ("data", "models", "metrics", "reports"):
        shutil.rmtree(repo.path / output)
    (repo.path / "dvc.lock").unlink()
    repo.run("git", "checkout", "HEAD", "--", "data/external")  # collect's source folder
    assert repo.repro() == STAGES
    assert (repo.path / "dvc.lock").read_text() == pipeline_run.lock


def test_reverting_an_experiment_restores_every_stage_from_the_run_cache(pipeline_clone: PipelineRepo) -> None:
    """Back to params already run, DVC checks out the outputs it saved instead of rerunning:
    every stage is in its run cache (no plain `cache: false` out keeps one out)."""
    repo = pipeline_clone
    repo.set_params({("train", "hist_gradient_boosting", "learning_rate"): 0.2})  # a value no other test runs
    assert repo.repro() == ["train", "evaluate", "package"]
    repo.run("git", "checkout", "--", "params.yaml")
    output = repo.run("dvc", "repro").stdout
    assert re.findall(r"Running stage '([^']+)'", output) == []
    restored = re.findall(r"Stage '([^']+)' is cached - skipping run, checking out outputs", output)
    assert restored == ["train", "evaluate", "package"]
    assert repo.run("git", "status", "--porcelain").stdout == ""  # git-tracked metrics restored too
    assert repo.run("dvc", "status", "--json").stdout.strip() == "{}"


def test_dvc_shows_headline_metrics_not_every_detail(pipeline_run: FirstRun) -> None:
    """Dtypes, null counts and slices are lists of rows, which `dvc metrics show` leaves out."""
    shown = json.loads(pipeline_run.repo.run("dvc", "metrics", "show", "--json").stdout)
    metrics = {file: flatten(data["data"]) for file, data in shown[""]["data"].items()}
    assert sum(map(len, metrics.values())) <= 150
    assert len(metrics["metrics/collect.json"]) == 6  # rows and columns of each source
    assert set(metrics["metrics/slices.json"]) == {"ranked_by"}
    evaluate, train = metrics["metrics/evaluate.json"], metrics["metrics/train.json"]
    assert {"roc_auc", "average_precision", "diagnosis.verdict", "diagnosis.train_validation_gap"} <= set(evaluate)
    assert {"cv.validation_roc_auc.mean", "cv.validation_roc_auc.std", "cv.train_roc_auc.mean"} <= set(train)


def test_dvc_plots_show_loads_every_plot(pipeline_clone: PipelineRepo) -> None:
    """Every declared plot file exists (empty where the task has no such plot): no warning.
    Each chart is drawn once: from its data, not again as a PNG or as a second chart."""
    done = pipeline_clone.run("dvc", "plots", "show", "--json")
    shown = json.loads(done.stdout)
    assert not shown.get("errors") and "failed to load" not in done.stderr, shown.get("errors")
    training_curve = "metrics/train_live/plots/custom/training_curve.json"
    for plot in ("metrics/plots/roc.json", "metrics/learning_curve.json", training_curve):
        assert shown["data"][plot], plot
    kinds = {render["type"] for renders in shown["data"].values() for render in renders}
    assert kinds == {"vega"}, kinds  # no PNG drawn beside its chart
    titles = [render["content"]["title"]["text"] for renders in shown["data"].values() for render in renders]
    assert len(titles) == len(set(titles)) and not [t for t in titles if "/" in t], titles
