"""Confidence: signals, the default prior, calibration on gold, the routing policy, rescoring.
Imports core, store and settings."""
