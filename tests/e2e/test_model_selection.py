"""Model selection end to end: the README's minimal params, pointed at a table the project
was never tuned for, run by the real `dvc repro`: the search stage chooses, train fits the
choice, and the model card and metrics say so; a train param the search does not decide
reruns train alone.

The table is scikit-learn's breast cancer data as a CSV file; the params are the README
block as written, with only the source path and the target changed, and the trial budget
cut to keep the test short (and the trials' rows, so that they see a sample).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.support.own_data import STAGES, breast_cancer, new_repo, repro, write_params
from tests.support.pipeline import PipelineRepo
from tests.support.project import ROOT

pytestmark = pytest.mark.e2e

TRIALS = 12
SEARCH_ROWS = 300  # of the 455 train rows: the trials see a seeded sample, train fits them all


def readme_params() -> dict[str, Any]:
    """The README's "The params to set" block."""
    section = (ROOT / "README.md").read_text().split("### The params to set\n", 1)[1]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PipelineRepo:
    repo = new_repo(tmp_path_factory.mktemp("selection") / "repo")
    (repo.path / "data/external").mkdir(parents=True, exist_ok=True)
    breast_cancer().to_csv(repo.path / "data/external/tumours.csv", index=False)
    params = readme_params()
    params["sources"]["data"] = {"kind": "csv", "path": "data/external/tumours.csv"}
    params["preprocess"]["target"] = {"column": "diagnosis", "positive_label": "malignant"}
    params["search"]["trials"] = TRIALS
    params["search"]["max_rows"] = SEARCH_ROWS
    write_params(repo, params)
    repo.commit("my own table, the README's params")
    code, stages, stderr = repro(repo)
    assert code == 0, stderr
    assert stages == STAGES
    return repo


def read_json(repo: PipelineRepo, path: str) -> Any:
    return json.loads((repo.path / path).read_text())


def test_the_search_records_every_trial_and_its_choice(repo: PipelineRepo) -> None:
    result = read_json(repo, "metrics/search.json")
    trials = read_json(repo, "metrics/search_trials.json")
    assert result["enabled"] and result["metric"] == "roc_auc"
    assert result["rows"] == SEARCH_ROWS
    assert sum(result["trials"].values()) == len(trials) == TRIALS
    assert [t["trial"] for t in trials] == list(range(TRIALS))
    # the first trials are each default family with scikit-learn's defaults
    assert [t["family"] for t in trials[:3]] == ["logistic_regression", "random_forest", "hist_gradient_boosting"]
    best = trials[result["best_trial"]]
    assert best["state"] == "complete" and best["score"] == result["score"]["mean"] > 0.97
    complete = [t["score"] for t in trials if t["state"] == "complete"]
    assert result["score"]["mean"] == max(complete)


def test_train_fits_the_search_s_choice_and_says_so(repo: PipelineRepo) -> None:
    chosen = read_json(repo, "metrics/search.json")["best"]
    train = read_json(repo, "metrics/train.json")
    assert train["chosen_by"] == "search"
    assert train["fit"]["rows"] == read_json(repo, "metrics/preprocess.json")["output_rows"]["train"] > SEARCH_ROWS
    assert train["model"] == chosen
    assert train["warnings"] == []
    metadata = read_json(repo, "models/package/metadata.json")
    assert metadata["model"] == chosen and metadata["chosen_by"] == "search"
    card = (repo.path / "models/package/MODEL_CARD.md").read_text()
    model = card.split("## Model\n", 1)[1].split("\n## ", 1)[0]
    assert f"Family: `{chosen['family']}`. Chosen by model selection: {TRIALS} trials" in model
    assert all(f"`{key}=" in model for key in chosen["params"])
    assert read_json(repo, "metrics/evaluate.json")["roc_auc"] > 0.97


def test_dvc_plots_show_renders_the_search(repo: PipelineRepo) -> None:
    shown = json.loads(repo.run("dvc", "plots", "show", "--json").stdout)["data"]
    (search,) = [plot for name, plot in shown.items() if "search_trials" in name]
    spec = search[0]["content"]
    assert spec["title"]["text"].startswith("Model search")
    values = spec["data"]["values"]
    assert len(values) == TRIALS and {"trial", "score", "family", "params"} <= set(values[0])


def test_the_review_report_shows_the_search(repo: PipelineRepo) -> None:
    repo.run("python", "-m", "lifecycle", "report", "--base", "HEAD")
    review = (repo.path / "reports/review.md").read_text()
    model = review.split("## Model\n", 1)[1].split("\n## ", 1)[0]
    result = read_json(repo, "metrics/search.json")
    assert f"| family | — | {result['best']['family']} |" in model
    assert "| chosen by | params | search |" in model
    assert f"| search | off | {TRIALS} trials (" in model and f"best {result['score']['mean']:.4f} |" in model
    assert "![review/search.png](review/search.png)" in review
    assert (repo.path / "reports/review/search.png").read_bytes().startswith(b"\x89PNG")


def test_a_train_param_the_search_does_not_decide_reruns_train_alone(repo: PipelineRepo) -> None:
    """Last in the file: it changes the module's repository."""
    repo.set_params({("train", "decision_threshold"): {"rule": "fixed", "value": 0.4}})
    assert repo.repro() == ["train", "evaluate", "package"]
    assert read_json(repo, "metrics/train.json")["threshold"]["rule"] == "fixed"
    repo.set_params({("search", "seed"): 1})
    stale = json.loads(repo.run("dvc", "status", "--json").stdout)
    assert stale["search"] == [{"changed deps": {"params.yaml": {"search": "modified"}}}]
