"""train: model families, cross-validation, learning curves, the decision threshold and calibration."""
