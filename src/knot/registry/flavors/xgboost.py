"""XGBoost in its own UBJSON format, for a Booster and for the scikit-learn style models
(XGBClassifier, ...), which XGBoost saves with their classes and parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knot.errors import Invalid
from knot.registry.entities import Signature
from knot.registry.flavors._common import from_module, predicted_signature
from knot.registry.flavors.protocol import SavedModel

__all__ = ["XGBoostFlavor"]


class _BoosterPredictor:
    """A bare Booster predicts on a DMatrix; take what the other flavors take."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, data: Any) -> Any:
        import xgboost

        return self.booster.predict(xgboost.DMatrix(data))


class XGBoostFlavor:
    name = "xgboost"

    def handles(self, model: object) -> bool:
        if not from_module(model, "xgboost"):
            return False
        import xgboost

        return isinstance(model, xgboost.Booster | xgboost.XGBModel)

    def save(self, model: Any, folder: Path, example: Any) -> SavedModel:
        import xgboost

        if not isinstance(model, xgboost.Booster | xgboost.XGBModel):
            raise Invalid(
                f"the xgboost flavor saves xgboost models, not {type(model).__name__}; "
                "leave flavor unset to pick one that fits",
                field="flavor",
            )
        model.save_model(str(folder / "model.ubj"))
        estimator = None if isinstance(model, xgboost.Booster) else type(model).__name__
        return SavedModel(
            format="xgboost-ubj",
            file="model.ubj",
            options={"estimator": estimator},
            packages=["xgboost"] if estimator is None else ["xgboost", "scikit-learn"],
        )

    def load(self, folder: Path, saved: SavedModel) -> Any:
        import xgboost

        path = str(folder / saved.file)
        estimator = saved.options.get("estimator")
        if estimator is None:
            booster = xgboost.Booster()
            booster.load_model(path)
            return _BoosterPredictor(booster)
        cls = getattr(xgboost, estimator, None)
        if not (isinstance(cls, type) and issubclass(cls, xgboost.XGBModel)):
            raise Invalid(
                f"the saved model names xgboost estimator {estimator!r}, which this xgboost "
                f"{xgboost.__version__} does not have; install the version the model's "
                "environment records",
                field="flavor",
            )
        model = cls()
        model.load_model(path)
        return model

    def signature(self, model: Any, example: Any) -> Signature | None:
        import xgboost

        predictor = _BoosterPredictor(model) if isinstance(model, xgboost.Booster) else model
        return predicted_signature(predictor, example)
