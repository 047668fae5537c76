"""Delayed-label performance: labels joined with the prediction log, metrics per window."""
