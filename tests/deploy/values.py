"""A values file for `knot deploy kubernetes` that uses every part: auth, a pull
secret, S3 on a custom endpoint, a followed model with its monitor and loop, and a
ModelKit served by a name of its own."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LOOP_YAML", "VALUES", "write_values"]

LOOP_YAML = """\
model: churn
pipeline: examples.churn.retrain:retrain
triggers:
  schedule: "0 3 * * *"
"""

VALUES: dict[str, Any] = {
    "namespace": "ml-prod",
    "image": "registry.example.com/knot/runtime:0.4.0",
    "image_pull_secret": "regcred",
    "store": {"secret": {"name": "knot-store", "key": "url"}},
    "artifacts": {
        "uri": "s3://knot-artifacts/team",
        "endpoint": "https://s3.example.com",
        "secret": "knot-s3",
    },
    "auth": {"enabled": True, "token_secret": {"name": "knot-token", "key": "token"}},
    "models": [
        {
            "ref": "models:/churn@champion",
            "monitor": {"schedule": "*/15 * * * *"},
            "loop": {"config": "loop.yaml"},
        },
        {
            "ref": "oci://registry.example.com/kits/fraud:3",
            "name": "fraud-v2",
            "registered_model": "fraud",
            "replicas": 3,
            "max_replicas": 10,
            "resources": {"cpu": "500m", "memory": "1Gi", "cpu_limit": "2", "memory_limit": "2Gi"},
            "monitor": {"schedule": "0 * * * *"},
        },
    ],
}


def write_values(folder: Path, values: dict[str, Any], **changes: Any) -> Path:
    """VALUES (top-level keys replaced by `changes`) as folder/values.yaml, with the
    loop.yaml it names beside it."""
    data = copy.deepcopy(values)
    data.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "loop.yaml").write_text(LOOP_YAML)
    path = folder / "values.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
