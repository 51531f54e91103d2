"""A reproducible machine-learning lifecycle: collect, preprocess, featurize, train, evaluate, package,
serve. The version is the installed distribution's (`importlib.metadata.version("lifecycle")`)."""
