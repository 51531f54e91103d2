"""The HTTP service for the packaged model: strict input, fast scoring, prediction log, metrics."""
