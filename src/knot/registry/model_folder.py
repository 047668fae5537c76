"""A logged model is a folder: the flavor's file plus knot-model.json, which says how to
load it (flavor, format, options), what it takes and returns (signature) and what it
needs (environment). The folder is stored by digest like any other artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from knot.errors import Invalid
from knot.registry.entities import Environment, Signature
from knot.registry.environment import capture_environment
from knot.registry.flavors import SavedModel, get_flavor, pick_flavor
from knot.registry.signature import model_columns

__all__ = ["META_FILE", "LoadedClassifier", "LoadedModel", "ModelMeta", "load_folder", "save"]

META_FILE = "knot-model.json"


class ModelMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    flavor: str
    saved: SavedModel
    signature: Signature | None = None
    environment: Environment
    knot_version: str


def _as_example(example: Any) -> Any:
    """A dict of columns becomes a DataFrame and a list an array, so that predicting on
    the example and describing it see the same thing."""
    if example is None:
        return None
    import pandas as pd

    if isinstance(example, dict):
        return pd.DataFrame(example)
    if isinstance(example, list | tuple):
        return np.asarray(example)
    return example


def save(model: Any, folder: Path, *, flavor: str | None, input_example: Any) -> ModelMeta:
    """Write `model` and its knot-model.json into the empty `folder`."""
    from knot._version import __version__

    example = _as_example(input_example)
    chosen = pick_flavor(model, flavor)
    saved = chosen.save(model, folder, example)
    signature = chosen.signature(model, example)
    needs = list(saved.packages)
    if signature is not None and signature.input_kind == "dataframe":
        needs.append("pandas")
    meta = ModelMeta(
        flavor=chosen.name,
        saved=saved,
        signature=signature,
        environment=capture_environment(needs),
        knot_version=__version__,
    )
    (folder / META_FILE).write_text(meta.model_dump_json(indent=2), encoding="utf-8")
    from knot.registry.mlflow_format import MLMODEL_FILE, mlmodel_text

    mlmodel = mlmodel_text(meta)  # so MLflow's pyfunc.load_model loads it too
    if mlmodel is not None:
        (folder / MLMODEL_FILE).write_text(mlmodel, encoding="utf-8")
    return meta


def read_meta(folder: Path) -> ModelMeta:
    path = folder / META_FILE
    from knot.registry.mlflow_format import MLMODEL_FILE

    if not path.is_file() and (folder / MLMODEL_FILE).is_file():
        return _meta_from_mlflow(folder)  # a model MLflow's client logged
    if not path.is_file():
        raise Invalid(
            f"this artifact is not a Knot model: it has no {META_FILE}. Log models with "
            "knot.log_model, which writes it",
            field="artifact_path",
        )
    try:
        return ModelMeta.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise Invalid(
            f"{META_FILE} of this model is malformed ({exc.errors()[0]['msg']} at "
            f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}); log the model again",
            field="artifact_path",
        ) from None


class LoadedModel:
    """A model loaded back: `predict` checks the input against the signature first and
    gives the model only the columns the signature names.
    `model` is what the flavor loaded (the pipeline, Booster, ONNX session, ...)."""

    def __init__(self, model: Any, meta: ModelMeta, source: str) -> None:
        self.model = model
        self.meta = meta
        self.source = source

    def __repr__(self) -> str:
        return f"<LoadedModel {self.source} ({self.meta.flavor})>"

    @property
    def flavor(self) -> str:
        return self.meta.flavor

    @property
    def signature(self) -> Signature | None:
        return self.meta.signature

    def predict(self, data: Any) -> Any:
        """Predict on `data`; a DataFrame's columns the model does not take are left out."""
        return self.model.predict(model_columns(self.meta.signature, data))


class LoadedClassifier(LoadedModel):
    """A loaded model whose flavor also gives class probabilities."""

    def predict_proba(self, data: Any) -> Any:
        return self.model.predict_proba(model_columns(self.meta.signature, data))


def load_folder(folder: Path, source: str) -> LoadedModel:
    """Load a model folder whose files were verified against their digests."""
    meta = read_meta(folder)
    model = get_flavor(meta.flavor).load(folder, meta.saved)
    if callable(getattr(model, "predict_proba", None)):
        return LoadedClassifier(model, meta, source)
    return LoadedModel(model, meta, source)


def _meta_from_mlflow(folder: Path) -> ModelMeta:
    """Knot's metadata of an MLflow model folder (one with an MLmodel file)."""
    from knot.registry.mlflow_format import MLMODEL_FILE, mlflow_meta_parts

    requirements = folder / "requirements.txt"
    flavor, saved, signature, environment, version = mlflow_meta_parts(
        (folder / MLMODEL_FILE).read_text(encoding="utf-8"),
        requirements.read_text(encoding="utf-8") if requirements.is_file() else None,
    )
    return ModelMeta(
        flavor=flavor,
        saved=saved,
        signature=signature,
        environment=environment,
        knot_version=f"mlflow {version}",
    )
