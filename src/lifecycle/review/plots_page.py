"""The page template of `dvc plots show` / `dvc plots diff`, with Vega inlined.

Why: DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so without a
network every chart is blank. `.dvc/config` points `plots.html_template` at the page this
module writes; it carries the three libraries (pinned in `.dvc/plots/package.json`,
installed by `npm ci`) inside the page, so it renders offline and stays one
self-contained file, e.g. a CI artifact. Without npm the page keeps DVC's `{scripts}`
placeholder (the CDN), and a warning says what is missing.

`python -m lifecycle.review.plots_page NODE_MODULES PAGE` (run by `make setup`).
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from lifecycle.logs import configure_logging
from lifecycle.storage import write_text

logger = logging.getLogger(__name__)

# The order matters: Vega-Lite needs Vega, Vega-Embed needs both.
LIBRARIES = ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js", "vega-embed/build/vega-embed.min.js")
_SOURCE_MAP = re.compile(r"\n//# sourceMappingURL=\S+\s*$")

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>Pipeline plots</title>
    SCRIPTS
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def inline_scripts(node_modules: Path) -> str:
    """The libraries as inline `<script>` elements (source-map comments dropped: the maps
    are not shipped, and a browser's developer tools would try to fetch them)."""
    scripts = []
    for library in LIBRARIES:
        source = (node_modules / library).read_text(encoding="utf-8")
        if "</script" in source.lower():  # would end the element early
            raise ValueError(f"{library} cannot be inlined: it contains '</script'")
        scripts.append(f"<script>\n{_SOURCE_MAP.sub('', source)}\n</script>")
    return "\n".join(scripts)


def page_template(node_modules: Path | None) -> str:
    """DVC's page with the libraries inlined, or with DVC's CDN `{scripts}` if they are missing.

    DVC fills `{plot_divs}`, `{scripts}` and `{refresh_tag}` by plain string replacement.
    """
    missing = [lib for lib in LIBRARIES if node_modules is None or not (node_modules / lib).is_file()]
    if missing:
        logger.warning(
            "plots page: %s not installed (run `npm ci --prefix .dvc/plots`); "
            "`dvc plots show` will load Vega from its CDN and needs a network",
            ", ".join(lib.split("/")[0] for lib in missing),
        )
        scripts = "{scripts}"
    else:
        scripts = inline_scripts(node_modules)
    return PAGE.replace("SCRIPTS", scripts, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.review.plots_page", description=__doc__)
    parser.add_argument("node_modules", type=Path, help="folder that npm installed the libraries into")
    parser.add_argument("page", type=Path, help="the template to write (plots.html_template in .dvc/config)")
    args = parser.parse_args(argv)
    configure_logging()
    write_text(page_template(args.node_modules), args.page)
    logger.info("plots page template written to %s", args.page)


if __name__ == "__main__":
    main()
