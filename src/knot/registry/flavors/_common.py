"""What the flavors share: pickle files, module checks, and signatures by prediction."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

from knot.errors import Invalid
from knot.registry.entities import Signature
from knot.registry.signature import infer_signature

__all__ = ["from_module", "load_pickle", "predicted_signature", "save_pickle"]


def from_module(model: object, package: str) -> bool:
    """Whether `model`'s class (or a base class) comes from `package`, and the package is
    imported already: a model cannot be of a library nobody imported."""
    if package not in sys.modules:
        return False
    return any(cls.__module__.split(".")[0] == package for cls in type(model).__mro__)


def save_pickle(model: Any, path: Path) -> None:
    try:
        path.write_bytes(pickle.dumps(model, protocol=5))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise Invalid(
            f"cannot pickle the {type(model).__name__} model ({exc}); define its class at the "
            "top level of an importable module, or pick a flavor that saves it natively",
            field="model",
        ) from exc


def load_pickle(path: Path) -> Any:
    # Only reached for a folder downloaded and verified against its digest, so these are
    # exactly the bytes that were logged (see knot.registry.fluent.load_model).
    return pickle.loads(path.read_bytes())


def predicted_signature(model: Any, example: Any) -> Signature | None:
    """Infer from the example and the model's prediction on it."""
    if example is None:
        return None
    predict = getattr(model, "predict", None)
    output = predict(example) if callable(predict) else None
    return infer_signature(example, output)
