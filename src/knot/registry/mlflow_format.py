"""MLflow's model folder format, both ways, for the flavors both know (scikit-learn).

An MLflow model folder has an `MLmodel` YAML file naming its flavors; a scikit-learn one
also holds the estimator (model.skops, or model.pkl for pickle/cloudpickle) and a
requirements.txt. `model_folder.read_meta` reads that as Knot's own metadata, so a model that
`mlflow.sklearn.log_model` logged to `knot server` is a Knot sklearn version that
`knot serve` loads. `mlmodel_text` writes the MLmodel file for a Knot sklearn model, so
MLflow's `pyfunc.load_model` loads what Knot registered."""

from __future__ import annotations

import json
import platform
import re
from typing import TYPE_CHECKING, Any

import yaml

from knot.errors import Invalid
from knot.registry.entities import ColumnSpec, Environment, Signature

if TYPE_CHECKING:  # both import numpy (via the flavors), which `knot server` starts without
    from knot.registry.flavors import SavedModel
    from knot.registry.model_folder import ModelMeta

__all__ = ["MLMODEL_FILE", "mlflow_meta_parts", "mlmodel_text"]

MLMODEL_FILE = "MLmodel"
_PICKLES = {"pickle", "cloudpickle"}
# MLflow's column types, as the dtype names Knot's signatures use
_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;#]+)")


def _fail(message: str) -> Invalid:
    return Invalid(f"this MLflow model cannot be used by Knot: {message}", field="artifact_path")


def _columns(text: Any) -> tuple[str, list[ColumnSpec]] | None:
    """An MLflow signature part (a JSON string of column or tensor specs) in Knot's terms."""
    if not isinstance(text, str):
        return None
    try:
        specs = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(specs, list) or not specs or not all(isinstance(s, dict) for s in specs):
        return None
    if all(s.get("type") == "tensor" for s in specs):
        columns = []
        for s in specs:
            tensor = s.get("tensor-spec") or {}
            shape = tensor.get("shape")
            columns.append(
                ColumnSpec(
                    name=s.get("name"),
                    type=str(tensor.get("dtype", "float64")),
                    shape=shape if isinstance(shape, list) else None,
                )
            )
        return "tensor", columns
    columns = [
        ColumnSpec(
            name=s.get("name"),
            type=_TYPES.get(str(s.get("type")), str(s.get("type"))),
            nullable=not s.get("required", True),
        )
        for s in specs
    ]
    return "dataframe", columns


def _signature(raw: Any) -> Signature | None:
    if not isinstance(raw, dict):
        return None
    inputs = _columns(raw.get("inputs"))
    if inputs is None:
        return None
    outputs = _columns(raw.get("outputs"))
    kind, columns = inputs
    return Signature(
        input_kind="tensor" if kind == "tensor" else "dataframe",
        inputs=columns,
        outputs=outputs[1] if outputs else [],
    )


def _environment(requirements: str | None, python: str | None) -> Environment:
    packages = {}
    for line in (requirements or "").splitlines():
        match = _REQUIREMENT.match(line)
        if match:
            packages[match.group(1)] = match.group(2)
    return Environment(python=python or platform.python_version(), packages=packages)


def mlflow_meta_parts(
    mlmodel: str, requirements: str | None
) -> tuple[str, SavedModel, Signature | None, Environment, str]:
    """(flavor, saved, signature, environment, mlflow version) of an MLmodel file's text."""
    from knot.registry.flavors import SavedModel

    try:
        spec = yaml.safe_load(mlmodel)
    except yaml.YAMLError as exc:
        raise _fail(f"its {MLMODEL_FILE} file is not YAML ({exc})") from None
    flavors = spec.get("flavors") if isinstance(spec, dict) else None
    if not isinstance(flavors, dict):
        raise _fail(f"its {MLMODEL_FILE} file names no flavors")
    sklearn = flavors.get("sklearn")
    if not isinstance(sklearn, dict):
        raise _fail(
            f"its flavors are {sorted(flavors)}; Knot loads MLflow's sklearn flavor only. "
            "Log the model with knot.log_model to use another kind"
        )
    file = sklearn.get("pickled_model")
    fmt = sklearn.get("serialization_format", "cloudpickle")
    if not isinstance(file, str) or "/" in file or file.startswith("."):
        raise _fail(f"its sklearn flavor names the model file {file!r}")
    if fmt == "skops":
        trusted = sklearn.get("skops_trusted_types") or []
        saved = SavedModel(format="skops", file=file, options={"trusted": list(trusted)})
    elif fmt in _PICKLES:
        saved = SavedModel(format="pickle", file=file)
    else:
        raise _fail(f"its serialization format {fmt!r} is not skops, pickle or cloudpickle")
    pyfunc = flavors.get("python_function")
    python = pyfunc.get("python_version") if isinstance(pyfunc, dict) else None
    environment = _environment(requirements, python if isinstance(python, str) else None)
    version = str(spec.get("mlflow_version", "unknown"))
    return "sklearn", saved, _signature(spec.get("signature")), environment, version


def mlmodel_text(meta: ModelMeta) -> str | None:
    """The MLmodel file that lets MLflow load a Knot model (None for a flavor MLflow
    cannot load from Knot's files)."""
    if meta.flavor != "sklearn" or meta.saved.format not in ("skops", "pickle"):
        return None
    sklearn: dict[str, Any] = {
        "pickled_model": meta.saved.file,
        "serialization_format": meta.saved.format,
        "code": None,
    }
    if meta.saved.format == "skops":
        sklearn["skops_trusted_types"] = list(meta.saved.options.get("trusted", []))
    if "scikit-learn" in meta.environment.packages:
        sklearn["sklearn_version"] = meta.environment.packages["scikit-learn"]
    spec = {
        "flavors": {
            "python_function": {
                "loader_module": "mlflow.sklearn",
                "model_path": meta.saved.file,
                "predict_fn": "predict",
                "python_version": meta.environment.python,
            },
            "sklearn": sklearn,
        },
        "saved_by": f"knot {meta.knot_version}",
    }
    return yaml.safe_dump(spec, sort_keys=False)
