"""ONNX models, predicted with onnxruntime. A scikit-learn model logged with
flavor="onnx" is converted first with skl2onnx (optional), from the input example.

Inputs: a model with one input takes the whole table or array, cast to the input's
type; a model with one input per column (skl2onnx's form for mixed-type tables) takes
each column by name. Outputs: the first is the prediction, a second one the
probabilities (predict_proba)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from knot.errors import Invalid
from knot.registry.entities import ColumnSpec, Signature
from knot.registry.flavors._common import from_module, predicted_signature
from knot.registry.flavors.protocol import SavedModel
from knot.registry.signature import infer_signature

__all__ = ["OnnxFlavor"]

_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}


class OnnxPredictor:
    """predict (and predict_proba, for models with a second output) on an ONNX session."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.inputs = session.get_inputs()
        self.outputs = [o.name for o in session.get_outputs()]

    def _feed(self, data: Any) -> dict[str, Any]:
        import pandas as pd

        if len(self.inputs) == 1:
            values = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
            first = self.inputs[0]
            return {first.name: values.astype(_TYPES.get(first.type, np.float32), copy=False)}
        if not isinstance(data, pd.DataFrame):
            names = ", ".join(i.name for i in self.inputs)
            raise Invalid(
                f"this ONNX model takes one input per column ({names}); pass a DataFrame",
                field="data",
            )
        feed = {}
        for spec in self.inputs:
            column = data[spec.name].to_numpy().reshape(-1, 1)
            feed[spec.name] = column.astype(_TYPES.get(spec.type, np.float32), copy=False)
        return feed

    def predict(self, data: Any) -> Any:
        return self.session.run(self.outputs[:1], self._feed(data))[0]

    def predict_proba(self, data: Any) -> Any:
        return self.session.run(self.outputs[1:2], self._feed(data))[0]


class OnnxFlavor:
    name = "onnx"

    def handles(self, model: object) -> bool:
        if not from_module(model, "onnx"):
            return False
        import onnx

        return isinstance(model, onnx.ModelProto)

    def save(self, model: Any, folder: Path, example: Any) -> SavedModel:
        options: dict[str, Any] = {}
        if not self.handles(model):
            options["converted_from"] = f"{type(model).__module__}.{type(model).__qualname__}"
            model = _convert(model, example)
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        return SavedModel(
            format="onnx", file="model.onnx", options=options, packages=["onnx", "onnxruntime"]
        )

    def load(self, folder: Path, saved: SavedModel) -> Any:
        import onnxruntime

        data = (folder / saved.file).read_bytes()
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        predictor = OnnxPredictor(session)
        if len(predictor.outputs) < 2:
            return _PredictOnly(predictor)
        return predictor

    def signature(self, model: Any, example: Any) -> Signature | None:
        """A converted model's from its example; an ONNX model's from its graph, with the
        example's columns as inputs when one is given."""
        if not self.handles(model):
            return predicted_signature(model, example)
        described = infer_signature(example) if example is not None else None
        inputs = described.inputs if described else [_spec(i) for i in model.graph.input]
        return Signature(
            input_kind=described.input_kind if described else "tensor",
            inputs=inputs,
            outputs=[_spec(o) for o in model.graph.output],
        )


class _PredictOnly:
    """An ONNX model with a single output: no predict_proba to offer."""

    def __init__(self, predictor: OnnxPredictor) -> None:
        self.predict = predictor.predict


def _spec(value: Any) -> ColumnSpec:
    import onnx

    tensor = value.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
    shape = [d.dim_value if d.dim_value > 0 else -1 for d in tensor.shape.dim]
    return ColumnSpec(name=value.name, type=np.dtype(dtype).name, shape=shape)


def _convert(model: Any, example: Any) -> Any:
    """skl2onnx conversion from the example: the table as it is, else as one float array."""
    if not from_module(model, "sklearn"):
        raise Invalid(
            f"the onnx flavor saves ONNX models (onnx.ModelProto) and converts scikit-learn "
            f"ones; {type(model).__name__} is neither. Convert it to ONNX first",
            field="flavor",
        )
    if example is None:
        raise Invalid(
            "converting a scikit-learn model to ONNX needs input_example=... to learn the "
            "input types; pass a few rows",
            field="input_example",
        )
    try:
        from skl2onnx import to_onnx
    except ImportError:
        raise Invalid(
            "converting to ONNX needs skl2onnx: pip install 'knot[flavors]' (or skl2onnx)",
            field="flavor",
        ) from None
    import pandas as pd

    tries = [example]
    if isinstance(example, pd.DataFrame) and _numeric(example):
        tries.append(example.to_numpy(dtype=np.float32))
    errors = []
    for candidate in tries:
        try:
            return to_onnx(model, candidate, options={"zipmap": False})
        except Exception as exc:  # skl2onnx raises many types; the last message is kept
            errors.append(f"{type(exc).__name__}: {exc}")
    raise Invalid(
        f"skl2onnx could not convert the {type(model).__name__} model ({errors[-1]}); log it "
        "with the sklearn flavor instead",
        field="flavor",
    )


def _numeric(frame: Any) -> bool:
    import pandas as pd

    return all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
