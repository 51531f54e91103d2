"""The tasks (binary, multiclass, regression): one object each carries everything that differs by task."""
