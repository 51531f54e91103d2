"""Monitoring: late labels joined to the prediction log, the reference profile the bundle
carries, input and prediction drift, live performance, the monitor's report and alerts."""
