"""The one inference pipeline: fitted feature transforms followed by the fitted model."""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

# Project modules whose code runs inside the pickled pipeline (custom transformers,
# the calibration wrapper).
PICKLED_MODULES = ("lifecycle.features", "lifecycle.calibration")


def inference_pipeline(featurizer: Pipeline, model: BaseEstimator) -> Pipeline:
    """Chain the already fitted featurizer and model; nothing is refitted.

    Evaluate (for importance) and package use this same object, so the packaged model
    applies exactly the transforms the model was trained and evaluated with.
    """
    return Pipeline([("features", featurizer), ("model", model)])
