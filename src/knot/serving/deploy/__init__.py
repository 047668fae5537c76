"""Kubernetes manifests for a Knot deployment beyond one machine: the tracking server,
one prediction service per model, the monitor and the loop controller, built as plain
dicts from validated values (knot.serving.deploy.values) and written as YAML."""

from __future__ import annotations

from knot.serving.deploy.manifests import kubernetes_manifests, to_yaml, write_manifests
from knot.serving.deploy.values import DeployValues

__all__ = ["DeployValues", "kubernetes_manifests", "to_yaml", "write_manifests"]
