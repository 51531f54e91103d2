"""Drift by the project's own functions against Evidently 0.7 on the same frames: the bundle's
reference sample against the whole test split, every monitored column.

Run by hand in a set-up checkout after `dvc repro` (Evidently is a test requirement, so
`make setup` installed it). Prints what the README's Monitor section quotes: install size,
import and compute time, and whether both find the same drifted columns.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import time
from pathlib import Path

import pandas as pd
import pandas.core.dtypes.common

from lifecycle import paths
from lifecycle.config import load_params
from lifecycle.monitoring.drift import dataset_drift
from lifecycle.monitoring.reference import as_categories, read_reference

logger = logging.getLogger("bench.drift_evidently")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: list[str]) -> set[str]:
    """The installed distributions `names` need, themselves included (extras left out)."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        try:
            dist = importlib.metadata.distribution(pending.pop())
        except importlib.metadata.PackageNotFoundError:
            continue
        key = _normal(dist.metadata["Name"])
        if key in seen:
            continue
        seen.add(key)
        pending += [re.split(r"[\s;\[<>=!~(]", r, maxsplit=1)[0] for r in dist.requires or [] if "extra ==" not in r]
    return seen


def _megabytes(name: str) -> float:
    dist = importlib.metadata.distribution(name)
    return sum(os.path.getsize(p) for f in dist.files or [] if (p := dist.locate_file(f)).is_file()) / 1e6


def added_by_evidently() -> tuple[float, int]:
    """Megabytes and count of the installed packages Evidently adds to what the rest needs."""
    requirements = Path("requirements.txt").read_text() + Path("requirements-dev.txt").read_text()
    names = [line.split("==")[0].split("[")[0] for line in requirements.splitlines() if "==" in line]
    added = _closure(["evidently"]) - _closure([n for n in names if _normal(n) != "evidently"])
    return sum(_megabytes(name) for name in added), len(added)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    reference = read_reference(paths.PACKAGE_DIR)
    kinds = reference.profile.kinds()
    test = pd.read_parquet(paths.INTERIM_TEST)
    current = pd.DataFrame(
        {n: as_categories(test[n]) if k == "categorical" else test[n].astype("float64") for n, k in kinds.items()}
    )
    sample = reference.sample[list(kinds)]
    settings = load_params().monitor.drift.model_copy(update={"expected": []})
    started = time.perf_counter()
    ours = dataset_drift(sample, current, kinds, settings)
    ours_seconds = time.perf_counter() - started

    # Evidently 0.7 imports a function pandas 3 removed, used by none of the drift code.
    pandas.core.dtypes.common.infer_dtype_from_object = lambda dtype: dtype  # type: ignore[attr-defined]
    started = time.perf_counter()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_seconds = time.perf_counter() - started
    definition = DataDefinition(
        numerical_columns=[n for n, k in kinds.items() if k == "numeric"],
        categorical_columns=[n for n, k in kinds.items() if k == "categorical"],
    )
    started = time.perf_counter()
    snapshot = (
        Report([DataDriftPreset()])
        .run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(sample, data_definition=definition),
        )
        .dict()
    )
    evidently_seconds = time.perf_counter() - started
    counted = snapshot["metrics"][0]["value"]["count"]
    megabytes, packages = added_by_evidently()
    logger.info(
        "reference %d rows, current %d rows, %d columns\n"
        "| | install | import s | drift s | drifted columns |\n| --- | ---: | ---: | ---: | ---: |\n"
        "| lifecycle.monitoring.drift | scipy (already required) | | %.2f | %d of %d |\n"
        "| Evidently %s | %.0f MB in %d packages | %.2f | %.2f | %d of %d |",
        len(sample),
        len(current),
        len(kinds),
        ours_seconds,
        ours.drifted,
        ours.counted,
        importlib.metadata.version("evidently"),
        megabytes,
        packages,
        import_seconds,
        evidently_seconds,
        int(counted),
        len(kinds),
    )


if __name__ == "__main__":
    main()
