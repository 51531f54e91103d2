"""A reproducible machine-learning lifecycle: collect, preprocess, featurize, train, evaluate, package."""

__version__ = "0.1.0"
