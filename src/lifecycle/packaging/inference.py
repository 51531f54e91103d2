"""The one inference pipeline, and the project code a pickled pipeline runs.

Pickle stores a class or function by module path and name, so the featurizer and the
bundle refer to `lifecycle.featurization.transformers` and `lifecycle.training.calibration`
by name. Bundles packaged before those packages existed refer to the modules' earlier
paths; `register_earlier_module_paths` makes those paths name the same modules, so such
bundles keep loading (tested on a bundle of that release).
"""

from __future__ import annotations

import importlib
import sys

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

# Project modules whose code runs inside the pickled pipeline (custom transformers,
# the calibration wrapper).
PICKLED_MODULES = ("lifecycle.featurization.transformers", "lifecycle.training.calibration")
# Where bundles of release 0.1 found the same code.
EARLIER_MODULE_PATHS = {
    "lifecycle.features": "lifecycle.featurization.transformers",
    "lifecycle.calibration": "lifecycle.training.calibration",
}


def inference_pipeline(featurizer: Pipeline, model: BaseEstimator) -> Pipeline:
    """Chain the already fitted featurizer and model; nothing is refitted.

    Evaluate (for importance) and package use this same object, so the packaged model
    applies exactly the transforms the model was trained and evaluated with.
    """
    return Pipeline([("features", featurizer), ("model", model)])


def register_earlier_module_paths() -> None:
    """Let the module paths older bundles pickled resolve to today's modules (no such
    module exists any more under its old path, so nothing is shadowed)."""
    for earlier, current in EARLIER_MODULE_PATHS.items():
        if earlier not in sys.modules:
            sys.modules[earlier] = importlib.import_module(current)
