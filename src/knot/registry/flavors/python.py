"""Any Python object with a `predict` method (and optionally `predict_proba`), pickled.
Its class must be importable where the model is loaded (a module, not __main__)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knot.registry.entities import Signature
from knot.registry.flavors._common import load_pickle, predicted_signature, save_pickle
from knot.registry.flavors.protocol import SavedModel

__all__ = ["PythonFlavor"]


class PythonFlavor:
    name = "python"

    def handles(self, model: object) -> bool:
        return callable(getattr(model, "predict", None))

    def save(self, model: Any, folder: Path, example: Any) -> SavedModel:
        save_pickle(model, folder / "model.pkl")
        return SavedModel(format="pickle", file="model.pkl")

    def load(self, folder: Path, saved: SavedModel) -> Any:
        return load_pickle(folder / saved.file)

    def signature(self, model: Any, example: Any) -> Signature | None:
        return predicted_signature(model, example)
