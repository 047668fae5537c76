"""scikit-learn estimators and pipelines, saved with skops where it can round-trip them,
else with pickle. skops records the types it must trust to load the file; they are kept
in the model's metadata, inside the same digest-verified folder."""

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

__all__ = ["SklearnFlavor"]

_PACKAGES = ["scikit-learn", "scipy", "joblib"]


class SklearnFlavor:
    name = "sklearn"

    def handles(self, model: object) -> bool:
        if not from_module(model, "sklearn"):
            return False
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(self, model: Any, folder: Path, example: Any) -> SavedModel:
        saved = _try_skops(model, folder / "model.skops")
        if saved is not None:
            return saved
        save_pickle(model, folder / "model.pkl")
        return SavedModel(format="pickle", file="model.pkl", packages=_PACKAGES)

    def load(self, folder: Path, saved: SavedModel) -> Any:
        path = folder / saved.file
        if saved.format == "skops":
            import skops.io as sio

            return sio.load(path, trusted=saved.options.get("trusted", []))
        return load_pickle(path)

    def signature(self, model: Any, example: Any) -> Signature | None:
        return predicted_signature(model, example)


def _try_skops(model: Any, path: Path) -> SavedModel | None:
    """Save with skops if it is installed and the file loads back; else None."""
    try:
        import skops.io as sio
    except ImportError:
        return None
    try:
        sio.dump(model, path)
        trusted = sio.get_untrusted_types(file=path)
        sio.load(path, trusted=trusted)
    except Exception:  # skops refuses some objects (lambdas, custom C types): use pickle
        path.unlink(missing_ok=True)
        return None
    return SavedModel(
        format="skops",
        file=path.name,
        options={"trusted": trusted},
        packages=[*_PACKAGES, "skops"],
    )
