"""Automation: pipelines (steps, caching, executors), triggers and the retrain loop."""
