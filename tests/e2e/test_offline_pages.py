"""The pages a user opens render with no network: `dvc plots show` (Vega inlined in the
page template that `make setup` writes) and the service's /docs (Swagger UI served by the
service itself). Each is loaded in headless Chromium with every host name unresolvable."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from lifecycle.review.plots_page import page_template
from tests.support.browser import rendered_dom, vega_modules
from tests.support.pipeline import FirstRun
from tests.support.serving import ServerProcess


def _vega_plots(run: FirstRun) -> list[str]:
    """The plots `dvc plots show` draws with Vega (not the PNG images)."""
    shown = json.loads(run.repo.run("dvc", "plots", "show", "--json").stdout)
    return [name for name, renders in shown["data"].items() if renders and renders[0]["type"] == "vega"]


def _plots_page(run: FirstRun, out: Path, template: Path | None) -> str:
    command = ["dvc", "plots", "show", "-o", str(out)]
    if template is not None:
        command += ["--html-template", str(template)]
    run.repo.run(*command)
    return rendered_dom((out / "index.html").as_uri())


def test_plots_page_renders_every_vega_plot_offline(pipeline_run: FirstRun, tmp_path: Path) -> None:
    """Every Vega plot of the page is drawn (a canvas) with the network off; DVC's own page,
    which loads Vega from a CDN, draws none under the same conditions (the control that
    shows the network really is off)."""
    template = tmp_path / "page.html"
    template.write_text(page_template(vega_modules()))
    plots = _vega_plots(pipeline_run)
    assert {"metrics/plots/roc.json", "metrics/learning_curve.json", "metrics/plots/confusion.csv"} <= set(plots)

    offline = _plots_page(pipeline_run, tmp_path / "offline", template)
    cdn = _plots_page(pipeline_run, tmp_path / "cdn", None)

    assert "cdn.jsdelivr.net" in cdn and "cdn.jsdelivr.net" not in offline
    embedded = re.findall(r'class="vega-embed\b', offline)  # also the other tasks' empty charts
    assert len(re.findall(r"<canvas\b", offline)) == len(embedded) >= len(plots)
    assert not re.findall(r"<canvas\b", cdn) and not re.findall(r'class="vega-embed\b', cdn)


def test_docs_render_the_operations_offline(bundle_dir: Path, tmp_path: Path) -> None:
    """/docs lists every operation of the OpenAPI document with the network off."""
    with ServerProcess(bundle_dir, f"sqlite:///{tmp_path / 'log.sqlite'}") as server:
        document = httpx.get(f"{server.url}/openapi.json").json()
        dom = rendered_dom(f"{server.url}/docs")
        server.stop_gracefully()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    shown = set(
        re.findall(r'<span class="opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', dom, flags=re.DOTALL)
    )
    assert len(operations) >= 8, operations
    assert shown == operations
