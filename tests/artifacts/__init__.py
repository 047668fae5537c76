"""Artifact store tests: one conformance suite run against every backend."""
