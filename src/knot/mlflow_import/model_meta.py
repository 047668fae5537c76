"""What a Knot model version records about an MLflow model folder, read from its MLmodel
file: the flavor, the environment it was saved with, and its signature.

The folder itself is stored unchanged; this only fills the version's fields. The flavor
is recorded as `mlflow.<flavor>` (e.g. `mlflow.sklearn`), the module MLflow saved it with,
so it never reads as one of Knot's own folder formats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from knot.errors import Invalid
from knot.registry.entities import ColumnSpec, Environment, Signature

__all__ = ["MLMODEL", "MlflowModelMeta", "read_mlmodel"]

MLMODEL = "MLmodel"
_GENERIC = "python_function"


class MlflowModelMeta:
    def __init__(self, flavor: str, environment: Environment, signature: Signature | None):
        self.flavor = flavor
        self.environment = environment
        self.signature = signature


def read_mlmodel(folder: Path) -> MlflowModelMeta:
    """The flavor, environment and signature of the MLflow model in `folder`."""
    import yaml

    path = folder / MLMODEL
    if not path.is_file():
        raise Invalid(
            f"this MLflow model has no {MLMODEL} file, so its flavor is unknown; register "
            "models logged with mlflow.<flavor>.log_model",
            field="source",
        )
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Invalid(f"its {MLMODEL} file is not YAML ({exc})", field="source") from None
    flavors = spec.get("flavors") if isinstance(spec, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise Invalid(f"its {MLMODEL} file names no flavor", field="source")
    named = [f for f in flavors if f != _GENERIC] or [_GENERIC]
    generic = flavors.get(_GENERIC) if isinstance(flavors.get(_GENERIC), dict) else {}
    return MlflowModelMeta(
        flavor=f"mlflow.{named[0]}"[:32],
        environment=Environment(
            python=_python(folder, generic or {}), packages=_requirements(folder)
        ),
        signature=_signature(spec.get("signature")),
    )


def _python(folder: Path, generic: dict[str, Any]) -> str:
    import yaml

    env = folder / "python_env.yaml"
    if env.is_file():
        try:
            loaded = yaml.safe_load(env.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            loaded = None
        if isinstance(loaded, dict) and loaded.get("python"):
            return str(loaded["python"])
    return str(generic.get("python_version") or "unknown")


def _requirements(folder: Path) -> dict[str, str]:
    """name -> pinned version from requirements.txt ("" where a line pins none)."""
    path = folder / "requirements.txt"
    packages: dict[str, str] = {}
    if not path.is_file():
        return packages
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        packages[name.split("[", 1)[0].strip()] = version.split(";", 1)[0].strip()
    return packages


def _signature(raw: Any) -> Signature | None:
    """MLflow's signature ({inputs: JSON text, outputs: JSON text}) as Knot's, or None
    when it has none or one Knot cannot describe."""
    if not isinstance(raw, dict) or not raw.get("inputs"):
        return None
    try:
        inputs = [_column(c) for c in json.loads(raw["inputs"])]
        outputs = [_column(c) for c in json.loads(raw["outputs"])] if raw.get("outputs") else []
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    tensor = any(c.shape is not None for c in inputs)
    return Signature(input_kind="tensor" if tensor else "dataframe", inputs=inputs, outputs=outputs)


def _column(spec: dict[str, Any]) -> ColumnSpec:
    if spec.get("type") == "tensor":
        tensor = spec["tensor-spec"]
        return ColumnSpec(name=spec.get("name"), type=str(tensor["dtype"]), shape=tensor["shape"])
    return ColumnSpec(
        name=spec.get("name"), type=str(spec["type"]), nullable=not spec.get("required", True)
    )
