"""Batch-scoring fixtures: the session's local Ray cluster (2 CPUs), shared with the
pipeline tests' fixture."""

from __future__ import annotations

from tests.pipelines.conftest import ray_cluster

__all__ = ["ray_cluster"]
