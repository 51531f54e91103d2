"""The README tells the truth: its diagram is `dvc dag`, its commands run as written."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml
from pydantic import TypeAdapter

from lifecycle.config import SourceSettings, parse_params
from lifecycle.validation.registry import CHECKS
from tests.support.pipeline import PipelineRepo
from tests.support.project import ROOT

README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _commands(block: str) -> list[str]:
    """Command lines of a bash block, without trailing comments."""
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line]


def test_mermaid_diagram_is_dvc_dag() -> None:
    dag = subprocess.run(
        [sys.executable, "-m", "dvc", "dag", "--md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    expected = re.search(r"```mermaid\n(.*?)```", dag, flags=re.S).group(1)
    assert _blocks("mermaid")[0].strip() == expected.strip()


def test_quick_start_uses_the_make_targets_ci_runs() -> None:
    assert _commands(_blocks("bash")[0]) == ["make repro", "make test"]
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_experiment_commands_run_as_written(pipeline_clone: PipelineRepo) -> None:
    repo = pipeline_clone
    commands = _commands(re.search(r"```bash\n(.*?)```", _section("Experiments and comparisons"), re.S).group(1))
    assert any(c.startswith("dvc exp run -S") for c in commands)
    for command in commands:
        done = repo.run("bash", "-c", command)
        assert "ERROR" not in done.stderr, f"{command}: {done.stderr}"
    shown = repo.run("dvc", "exp", "show", "--json").stdout
    assert "random_forest" in shown
    table = next(c for c in commands if c.startswith("dvc exp show"))
    columns = repo.run("bash", "-c", f"{table} --csv").stdout.splitlines()[0].split(",")
    assert len(columns) <= 60, columns  # plain `dvc exp show` has hundreds
    assert {"train.model", "roc_auc", "cv.validation_roc_auc.mean", "diagnosis.validation"} <= set(columns)


def test_predict_commands_run_as_written(pipeline_clone: PipelineRepo) -> None:
    repo = pipeline_clone
    commands = _commands(re.findall(r"```bash\n(.*?)```", _section("Predict with the bundle"), re.S)[-1])
    assert commands[-1] == "python -m lifecycle predict --input rows.csv --output predictions.csv"
    for command in commands:
        repo.run("bash", "-c", command)
    scored = (repo.path / "predictions.csv").read_text().splitlines()
    assert scored[0].endswith("prediction,probability,error")
    assert len(scored) == 101


def test_review_command_runs_as_written(pipeline_clone: PipelineRepo) -> None:
    repo = pipeline_clone
    commands = _commands(re.search(r"```bash\n(.*?)```", _section("Review a change"), re.S).group(1))
    assert commands == ["python -m lifecycle report --base HEAD"]
    repo.run("bash", "-c", commands[0])
    assert (repo.path / "reports/review.md").read_text().startswith("<!-- lifecycle-review -->")
    assert (repo.path / "reports/review/roc.png").is_file()


def test_source_examples_are_valid_settings() -> None:
    examples = re.findall(r"```yaml\n(.*?)```", README.split("### Sources\n", 1)[1].split("\n### ", 1)[0], re.S)
    assert len(examples) == 3
    for example in examples:
        sources = yaml.safe_load(example)
        assert {s["kind"] for s in sources.values()} <= {"jsonl", "sql", "http_api"}
        TypeAdapter(dict[str, SourceSettings]).validate_python(sources)


def _subsection(title: str) -> str:
    return README.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]


def test_own_data_source_examples_are_valid_settings() -> None:
    examples = re.findall(r"```yaml\n(.*?)```", _subsection("One example per source kind"), re.S)
    kinds = [yaml.safe_load(example)["data"]["kind"] for example in examples]
    assert sorted(set(kinds)) == ["csv", "http_api", "jsonl", "parquet", "sql"]
    for example in examples:
        TypeAdapter(dict[str, SourceSettings]).validate_python(yaml.safe_load(example))


def test_own_data_params_are_complete_and_valid_alone() -> None:
    """The documented params as they stand (nothing taken from the flights file) validate,
    hold every section a stage of dvc.yaml reads, and turn the search on."""
    documented = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", _subsection("The params to set"), re.S)[0])
    params = parse_params(documented)
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    read = {section for stage in stages.values() for section in stage.get("params", [])}
    assert read <= set(documented), f"missing sections: {sorted(read - set(documented))}"
    assert params.preprocess.target.positive_label == "yes"
    assert params.preprocess.split.method == "stratified"
    assert params.search.enabled


def test_every_check_is_documented_with_its_default_severity_and_meaning() -> None:
    """The README's table of checks is the registry's: name, default severity, and what the
    message means (each check's docstring summary), in the order they run."""
    rows = re.findall(r"^\| `(\w+)` \| (error|warning) \| (.*) \|$", _subsection("Validation"), re.M)
    assert rows == [(c.name, c.severity, c.meaning) for c in CHECKS]
