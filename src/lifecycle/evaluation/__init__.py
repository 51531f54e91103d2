"""evaluate: baselines, the fit diagnosis, slices, permutation importance and figures."""
