"""Model flavors: small adapters that save, load and describe one kind of model.

Picked in order, the first that handles the model wins: LightGBM and XGBoost before
scikit-learn (their scikit-learn style models are estimators too), ONNX, then any
object with `predict`. `register_flavor` adds one (it is tried before the built-ins).
"""

from __future__ import annotations

from knot.errors import Invalid
from knot.registry.flavors.lightgbm import LightGBMFlavor
from knot.registry.flavors.onnx import OnnxFlavor
from knot.registry.flavors.protocol import Flavor, SavedModel
from knot.registry.flavors.python import PythonFlavor
from knot.registry.flavors.sklearn import SklearnFlavor
from knot.registry.flavors.xgboost import XGBoostFlavor

__all__ = ["Flavor", "SavedModel", "get_flavor", "pick_flavor", "register_flavor"]

_FLAVORS: list[Flavor] = [
    LightGBMFlavor(),
    XGBoostFlavor(),
    SklearnFlavor(),
    OnnxFlavor(),
    PythonFlavor(),
]


def register_flavor(flavor: Flavor) -> None:
    """Add a flavor, tried before the built-in ones; a flavor of the same name is replaced."""
    _FLAVORS[:] = [flavor, *(f for f in _FLAVORS if f.name != flavor.name)]


def get_flavor(name: str) -> Flavor:
    for flavor in _FLAVORS:
        if flavor.name == name:
            return flavor
    known = ", ".join(sorted(f.name for f in _FLAVORS))
    raise Invalid(f"flavor {name!r} is not known; flavors: {known}", field="flavor")


def pick_flavor(model: object, name: str | None = None) -> Flavor:
    """The named flavor, or the first that handles `model`."""
    if name is not None:
        return get_flavor(name)
    for flavor in _FLAVORS:
        if flavor.handles(model):
            return flavor
    raise Invalid(
        f"no flavor can save a {type(model).__module__}.{type(model).__qualname__}: a model "
        "needs a predict method (scikit-learn, LightGBM, XGBoost, ONNX or any object with "
        "predict)",
        field="model",
    )
