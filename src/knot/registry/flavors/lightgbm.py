"""LightGBM: a Booster in LightGBM's own text format; a scikit-learn style model
(LGBMClassifier, ...) with pickle, which keeps its classes and predict_proba."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knot.registry.entities import Signature
from knot.registry.flavors._common import (
    from_module,
    load_pickle,
    predicted_signature,
    save_pickle,
)
from knot.registry.flavors.protocol import SavedModel

__all__ = ["LightGBMFlavor"]


class LightGBMFlavor:
    name = "lightgbm"

    def handles(self, model: object) -> bool:
        if not from_module(model, "lightgbm"):
            return False
        import lightgbm

        return isinstance(model, lightgbm.Booster | lightgbm.LGBMModel)

    def save(self, model: Any, folder: Path, example: Any) -> SavedModel:
        import lightgbm

        if isinstance(model, lightgbm.Booster):
            model.save_model(str(folder / "model.txt"))
            return SavedModel(format="lightgbm-text", file="model.txt", packages=["lightgbm"])
        save_pickle(model, folder / "model.pkl")
        return SavedModel(
            format="pickle", file="model.pkl", packages=["lightgbm", "scikit-learn", "scipy"]
        )

    def load(self, folder: Path, saved: SavedModel) -> Any:
        path = folder / saved.file
        if saved.format == "lightgbm-text":
            import lightgbm

            return lightgbm.Booster(model_file=str(path))
        return load_pickle(path)

    def signature(self, model: Any, example: Any) -> Signature | None:
        return predicted_signature(model, example)
