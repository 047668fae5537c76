"""The flavor conformance suite: every flavor saves a real model, registers it, loads it
back through models:/ and predicts exactly what the original predicted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import knot
from knot.errors import Invalid
from knot.registry.flavors import get_flavor, pick_flavor


class ThresholdModel:
    """A plain Python model: importable from this module, so it pickles by reference."""

    def __init__(self, column: str, cut: float) -> None:
        self.column = column
        self.cut = cut

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame[self.column] > self.cut).to_numpy().astype(np.int64)


def table(rows: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, rows),
            "charges": rng.normal(70, 20, rows),
            "usage": rng.random(rows),
        }
    )
    label = ((frame["tenure"] < 20) & (frame["charges"] > 60)).astype(int)
    return frame, label


def mixed_table() -> tuple[pd.DataFrame, pd.Series]:
    frame, label = table()
    frame["contract"] = np.where(frame["tenure"] > 30, "two-year", "monthly")
    return frame, label


def sklearn_pipeline() -> tuple[Any, pd.DataFrame]:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = mixed_table()
    prep = make_column_transformer(
        (StandardScaler(), ["tenure", "charges", "usage"]),
        (OneHotEncoder(handle_unknown="ignore"), ["contract"]),
    )
    return make_pipeline(prep, HistGradientBoostingClassifier(max_iter=20)).fit(X, y), X


def logistic() -> tuple[Any, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression

    X, y = table()
    return LogisticRegression(max_iter=500).fit(X, y), X


def logistic_skops_refuses() -> tuple[Any, pd.DataFrame]:
    model, X = logistic()
    model.note_ = 1 + 2j  # skops cannot store a complex number; pickle can
    return model, X


def lightgbm_booster() -> tuple[Any, pd.DataFrame]:
    import lightgbm

    X, y = table()
    data = lightgbm.Dataset(X, y)
    return lightgbm.train({"objective": "binary", "verbose": -1}, data, num_boost_round=10), X


def lightgbm_classifier() -> tuple[Any, pd.DataFrame]:
    import lightgbm

    X, y = table()
    return lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y), X


def xgboost_booster() -> tuple[Any, pd.DataFrame]:
    import xgboost

    X, y = table()
    return xgboost.train({"objective": "binary:logistic"}, xgboost.DMatrix(X, y), 10), X


def xgboost_classifier() -> tuple[Any, pd.DataFrame]:
    import xgboost

    X, y = table()
    return xgboost.XGBClassifier(n_estimators=10).fit(X, y), X


def python_model() -> tuple[Any, pd.DataFrame]:
    return ThresholdModel("tenure", 30), table()[0]


@dataclass(frozen=True)
class Case:
    make: Callable[[], tuple[Any, pd.DataFrame]]
    flavor: str
    format: str
    proba: bool
    needs: str  # a package the recorded environment must name
    requested: str | None = None  # flavor= passed to log_model


CASES = {
    "sklearn-logistic": Case(logistic, "sklearn", "skops", True, "skops"),
    "sklearn-pipeline": Case(sklearn_pipeline, "sklearn", "skops", True, "scikit-learn"),
    "sklearn-pickle": Case(logistic_skops_refuses, "sklearn", "pickle", True, "scikit-learn"),
    "lightgbm-booster": Case(lightgbm_booster, "lightgbm", "lightgbm-text", False, "lightgbm"),
    "lightgbm-sklearn": Case(lightgbm_classifier, "lightgbm", "pickle", True, "lightgbm"),
    "xgboost-booster": Case(xgboost_booster, "xgboost", "xgboost-ubj", False, "xgboost-cpu"),
    "xgboost-sklearn": Case(xgboost_classifier, "xgboost", "xgboost-ubj", True, "xgboost-cpu"),
    "onnx-converted": Case(logistic, "onnx", "onnx", True, "onnxruntime", requested="onnx"),
    "python": Case(python_model, "python", "pickle", False, "numpy"),
}


def _predictions(model: Any, X: pd.DataFrame) -> Any:
    import xgboost

    if isinstance(model, xgboost.Booster):
        return model.predict(xgboost.DMatrix(X))
    return model.predict(X)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_flavor_round_trip(knot_home: Path, case: Case) -> None:
    model, X = case.make()
    with knot.start_run("train"):
        version = knot.log_model(
            model,
            "model",
            registered_model_name="m",
            input_example=X.head(),
            flavor=case.requested,
        )
    assert version.flavor == case.flavor
    assert case.needs in version.environment.packages and version.environment.python
    assert version.signature is not None and version.signature.columns == list(X.columns)
    loaded = knot.load_model("models:/m/1")
    assert loaded.flavor == case.flavor and loaded.meta.saved.format == case.format
    expected = _predictions(model, X)
    got = loaded.predict(X)
    if case.flavor == "onnx":
        assert np.array_equal(np.asarray(got).ravel(), np.asarray(expected).ravel())
    else:
        assert np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float))
    assert hasattr(loaded, "predict_proba") is case.proba
    if case.proba:
        assert np.allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-5)
    with pytest.raises(Invalid, match="lacks column"):
        loaded.predict(X.drop(columns=[X.columns[0]]))


def test_an_onnx_model_describes_its_own_inputs(knot_home: Path) -> None:
    from skl2onnx import to_onnx

    model, X = logistic()
    proto = to_onnx(model, X.head().to_numpy(np.float32), options={"zipmap": False})
    assert pick_flavor(proto).name == "onnx"
    with knot.start_run("export"):
        logged = knot.log_model(proto, "onnx")
    assert logged.uri.startswith("runs:/") and logged.signature is not None
    assert logged.signature.input_kind == "tensor"
    assert [(c.type, c.shape) for c in logged.signature.inputs] == [("float32", [-1, 3])]
    loaded = knot.load_model(logged.uri)
    assert np.array_equal(loaded.predict(X.to_numpy()), model.predict(X))
    with pytest.raises(Invalid, match=r"shape \[300, 2\]"):
        loaded.predict(X.to_numpy()[:, :2])


def test_models_no_flavor_can_save_are_refused(knot_home: Path) -> None:
    with pytest.raises(Invalid, match=r"no flavor can save a builtins\.dict"):
        pick_flavor({"weights": [1, 2]})
    with pytest.raises(Invalid, match="flavor 'tensorflow' is not known; flavors: "):
        get_flavor("tensorflow")
    with pytest.raises(Invalid, match="needs input_example"), knot.start_run("x"):
        knot.log_model(logistic()[0], flavor="onnx")
    with pytest.raises(Invalid, match="converts scikit-learn"), knot.start_run("y"):
        knot.log_model(ThresholdModel("tenure", 1), flavor="onnx", input_example=table()[0])
    with pytest.raises(Invalid, match="define its class at the top level"), knot.start_run("z"):

        class Local:
            def predict(self, data: Any) -> Any:
                return data

        knot.log_model(Local())
