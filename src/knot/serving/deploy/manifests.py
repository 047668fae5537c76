"""Every manifest of a Knot deployment, grouped by file, and their YAML.

The groups are what `knot deploy kubernetes --output DIR` writes, one file each, so a
team can review, diff and `kubectl apply -f DIR` them. kubectl applies a folder's files
in name order, so the numbers put the namespace first."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from knot.serving.deploy import jobs, pods, services
from knot.serving.deploy.values import DeployValues

__all__ = ["kubernetes_manifests", "to_yaml", "write_manifests"]

Manifest = dict[str, Any]


def kubernetes_manifests(
    values: DeployValues, loop_configs: Mapping[str, str] | None = None
) -> dict[str, list[Manifest]]:
    """File name -> its manifests. `loop_configs` holds the text of each model's
    loop.yaml, by the model's object name (the caller reads and checks the files)."""
    groups: dict[str, list[Manifest]] = {}
    if values.create_namespace:
        groups["00-namespace.yaml"] = [_namespace(values)]
    groups["10-server.yaml"] = services.tracking_server(values)
    for model in values.models:
        group = services.model_service(values, model)
        group += jobs.monitor_job(values, model)
        group += jobs.compact_job(values, model)
        if model.loop is not None:
            text = (loop_configs or {}).get(model.object_name)
            if text is None:
                raise ValueError(f"no loop.yaml text given for {model.object_name}")
            group += jobs.loop_controller(values, model, text)
        groups[f"20-model-{model.object_name}.yaml"] = group
    if values.grafana_dashboard:
        groups["30-grafana-dashboard.yaml"] = [_dashboard(values)]
    return groups


def _namespace(values: DeployValues) -> Manifest:
    # every pod here meets the "restricted" Pod Security Standard: enforce it
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": values.namespace,
            "labels": {
                "app.kubernetes.io/part-of": pods.PART_OF,
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
    }


def _dashboard(values: DeployValues) -> Manifest:
    """The Grafana dashboard as a ConfigMap that Grafana's dashboard sidecar loads (the
    `grafana_dashboard` label is the sidecar's default)."""
    text = resources.files("knot.serving.deploy").joinpath("knot-dashboard.json").read_text()
    json.loads(text)  # a broken copy must fail here, not in Grafana
    meta = pods.metadata(values, "knot-grafana-dashboard", "knot-dashboard", "knot")
    meta["labels"]["grafana_dashboard"] = "1"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {"knot-dashboard.json": text},
    }


def to_yaml(manifests: list[Manifest]) -> str:
    """Manifests as one multi-document YAML text, keys in the order built."""
    import yaml

    return "".join(
        "---\n" + yaml.safe_dump(m, sort_keys=False, default_flow_style=False) for m in manifests
    )


def write_manifests(groups: Mapping[str, list[Manifest]], folder: Path) -> list[Path]:
    """Write each group to FOLDER/NAME, each file whole or not at all (a temporary file
    renamed into place), and return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, manifests in groups.items():
        target = folder / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(to_yaml(manifests))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
