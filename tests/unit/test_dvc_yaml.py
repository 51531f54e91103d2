"""dvc.yaml declares exactly what each stage reads: its code (by import graph) and paths."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from lifecycle import paths
from lifecycle.config import PIPELINE_SECTIONS
from lifecycle.packaging.inference import PICKLED_MODULES
from tests.support.project import ROOT

SRC = ROOT / "src"
PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = PIPELINE["stages"]


def _module_file(module: str) -> Path | None:
    base = SRC / module.replace(".", "/")
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports(path: Path) -> set[str]:
    """The `lifecycle.*` modules a file imports (including `from lifecycle import x`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("lifecycle.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lifecycle"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}")}
    return found


# Unpickling runs the code of the project classes inside: custom transformers in the
# featurizer, the calibration wrapper around a calibrated model.
UNPICKLED_CODE = {
    "models/featurizer.joblib": "lifecycle.featurization.transformers",
    "models/model.joblib": "lifecycle.training.calibration",
}


def code_read_by(stage_module: str) -> set[Path]:
    """Every source file of the package a stage imports, directly, indirectly or by unpickling."""
    seen: set[Path] = set()
    stage = STAGES[stage_module.rsplit(".", 1)[-1]]
    pending = [stage_module, *(m for f, m in UNPICKLED_CODE.items() if f in stage["deps"])]
    while pending:
        path = _module_file(pending.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        pending.extend(_imports(path))
        parent = path.parent / "__init__.py" if path.name != "__init__.py" else path.parent.parent / "__init__.py"
        if parent.is_file() and parent.parent != SRC / "lifecycle":
            pending.append(".".join(parent.parent.relative_to(SRC).parts))
    return {p for p in seen if p != SRC / "lifecycle/__init__.py"}


def _covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == dep or relative.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_declares_every_module_it_imports(name: str) -> None:
    stage = STAGES[name]
    module = stage["cmd"].removeprefix("python -m ")
    assert module == f"lifecycle.stages.{name}"
    missing = sorted(p.relative_to(ROOT).as_posix() for p in code_read_by(module) if not _covered(p, stage["deps"]))
    assert missing == [], f"stage {name} imports undeclared code: {missing}"


def test_package_depends_on_all_params_and_pickled_code_it_records() -> None:
    assert tuple(STAGES["package"]["params"]) == PIPELINE_SECTIONS
    for module in PICKLED_MODULES:
        assert f"src/{module.replace('.', '/')}.py" in STAGES["package"]["deps"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_declares_no_code_it_does_not_import(name: str) -> None:
    stage = STAGES[name]
    imported = {p.relative_to(ROOT).as_posix() for p in code_read_by(stage["cmd"].removeprefix("python -m "))}
    code_deps = [d for d in stage["deps"] if d.startswith("src/")]
    unused = [d for d in code_deps if not any(i == d or i.startswith(d.rstrip("/") + "/") for i in imported)]
    assert unused == [], f"stage {name} declares code it never imports: {unused}"


def _declared(entries: list) -> list[str]:
    return [e if isinstance(e, str) else next(iter(e)) for e in entries]


def test_every_data_dep_is_an_output_of_an_earlier_stage() -> None:
    """Except the user's own source files: collect reads the git-tracked data/external/."""
    produced: list[str] = []
    assert "data/external" in STAGES["collect"]["deps"]
    assert (ROOT / "data/external/README.md").is_file()
    for name, stage in STAGES.items():
        for dep in stage["deps"]:
            if not dep.startswith(("src/", "data/external")):
                assert dep in produced, f"{name} reads {dep}, which no earlier stage writes"
        for kind in ("outs", "metrics", "plots"):
            produced += _declared(stage.get(kind, []))


def test_git_tracked_metrics_and_plot_data_are_not_cached() -> None:
    for stage in STAGES.values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                if isinstance(entry, dict):
                    path, options = next(iter(entry.items()))
                    if path.startswith("metrics/"):
                        assert options.get("cache") is False, path
                else:
                    assert not entry.startswith("metrics/"), f"{entry} must be cache: false"


def test_no_plain_output_is_uncached() -> None:
    """DVC keeps no run cache of a stage with a plain `cache: false` out (metrics and plots
    are exempt), and then reverting an experiment's params reruns the stage."""
    for name, stage in STAGES.items():
        for entry in stage.get("outs", []):
            if isinstance(entry, dict):
                path, options = next(iter(entry.items()))
                assert options.get("cache", True), f"{name}: {path} is a plain cache: false out"


def test_evaluate_declares_every_plot_file_it_writes() -> None:
    declared = [p.removeprefix("metrics/plots/") for p in _declared(STAGES["evaluate"]["plots"])]
    assert [p for p in declared if not p.startswith("reports/")] == list(paths.PLOT_FILES)
