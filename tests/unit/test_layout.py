"""The tree shows the architecture: the README's Layout block is the package's tree, each stage
leads to its step's folder, every package `__init__` is a docstring, and the unit tests
mirror the packages."""

from __future__ import annotations

import ast
import re

import yaml

from tests.support.project import ROOT

PACKAGE = ROOT / "src/lifecycle"
README = (ROOT / "README.md").read_text(encoding="utf-8")
LAYOUT = README.split("## Layout\n", 1)[1].split("```\n", 2)[1]
STAGES = list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


def layout_tree() -> tuple[set[str], dict[str, str]]:
    """Every module the Layout block names (as paths below src/lifecycle/) and each folder's
    description. A line is names (`module.py`, `folder/`) then a description, each part two
    or more spaces apart; a folder's modules follow it, indented further."""
    modules: set[str] = set()
    folders: dict[str, str] = {}
    folder = ""
    for line in LAYOUT.split("src/lifecycle/", 1)[1].splitlines()[1:]:
        if not line.startswith("  "):
            break
        parts = re.split(r"\s{2,}", line.strip())
        names = [p for p in parts if re.fullmatch(r"\w+(\.py|/)", p)]
        description = "  ".join(parts[len(names) :])
        if not line.startswith("    "):
            folder = ""
        for name in names:
            if name.endswith("/"):
                folder = name
                folders[name.rstrip("/")] = description
            else:
                modules.add(f"{folder}{name}")
    return modules, folders


def test_the_layout_block_names_every_module_and_nothing_else() -> None:
    named, folders = layout_tree()
    actual = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    assert named == actual
    assert set(folders) == {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}


def test_each_stage_leads_to_its_step_s_folder() -> None:
    """A newcomer reading the lifecycle diagram finds each stage's code by folder name."""
    _, folders = layout_tree()
    for stage in STAGES:
        steps = [folder for folder, text in folders.items() if stage in text.split(":", 1)[0].split(", ")]
        assert len(steps) == 1, f"no folder of the Layout block says it is the {stage} step"
        stage_module = (PACKAGE / "stages" / f"{stage}.py").read_text(encoding="utf-8")
        assert f"from lifecycle.{steps[0]}." in stage_module, f"stages/{stage}.py does not call into {steps[0]}/"


def test_every_package_init_is_a_docstring_only() -> None:
    """So importing one module of a package runs no other (DVC's code deps stay exact)."""
    for init in PACKAGE.rglob("__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), init


def test_unit_tests_mirror_the_packages() -> None:
    """tests/unit/<package>/ for every package; the stages, thin shells, are tested end to end."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    unit = {p.name for p in (ROOT / "tests/unit").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert unit == packages - {"stages"}
    for folder in unit:
        assert list((ROOT / "tests/unit" / folder).glob("test_*.py")), folder
