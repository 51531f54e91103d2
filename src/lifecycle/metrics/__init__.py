"""Metric families, one module per task with the same function names: binary, multiclass, regression."""
