"""The `dvc plots show` page template: Vega inlined from the pinned npm packages, DVC's CDN
page kept where they are not installed. (test_offline_pages.py renders it in Chromium.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifecycle.review.plots_page import LIBRARIES, inline_scripts, page_template
from tests.support.browser import vega_modules
from tests.support.project import ROOT

PLOTS = ROOT / ".dvc/plots"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return vega_modules()


def test_the_page_carries_the_pinned_libraries(node_modules: Path) -> None:
    page = page_template(node_modules)
    pinned = json.loads((PLOTS / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        installed = json.loads((node_modules / name / "package.json").read_text())["version"]
        assert installed == version, name  # npm ci installed what package.json pins
    assert page.count("<script>") == 3 and "<script src" not in page
    assert "{plot_divs}" in page and "{refresh_tag}" in page and "{scripts}" not in page
    assert "sourceMappingURL" not in page
    # in the order each needs the one before: vega, then vega-lite, then vega-embed
    offsets = [page.index((node_modules / lib).read_text()[:200]) for lib in LIBRARIES]
    assert offsets == sorted(offsets)


def test_without_the_libraries_the_page_keeps_dvc_s_scripts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    page = page_template(tmp_path)
    assert "{scripts}" in page and "{plot_divs}" in page and "<script>" not in page
    assert "vega, vega-lite, vega-embed not installed" in caplog.text


def test_a_library_that_would_end_its_script_element_is_refused(tmp_path: Path, node_modules: Path) -> None:
    for library in LIBRARIES:
        (tmp_path / library).parent.mkdir(parents=True)
        (tmp_path / library).write_text((node_modules / library).read_text())
    (tmp_path / LIBRARIES[1]).write_text('var s = "</script>";')
    with pytest.raises(ValueError, match="vega-lite.min.js cannot be inlined"):
        inline_scripts(tmp_path)
