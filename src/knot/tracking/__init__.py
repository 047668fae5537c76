"""Experiment tracking: runs, params, metrics (batched by a background writer), artifacts."""
