"""Signatures: a model's input columns (or tensor shape) and output, inferred from an input
example and the model's own prediction on it, and checked again when the model predicts."""

from __future__ import annotations

from typing import Any

import numpy as np

from knot.errors import Invalid
from knot.registry.entities import ColumnSpec, Signature

__all__ = ["check_input", "infer_signature", "model_columns", "tensor_specs"]


def _series_type(series: Any) -> str:
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "string"
    if pd.api.types.is_object_dtype(dtype):
        values = series.dropna()
        if len(values) and all(isinstance(v, str) for v in values.iloc[:100]):
            return "string"
        return "object"
    return str(dtype.name)


def tensor_specs(value: Any, name: str | None = None) -> list[ColumnSpec]:
    """The specs of a table's columns, or of one array (its batch dimension as -1)."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return [
            ColumnSpec(
                name=str(c), type=_series_type(value[c]), nullable=bool(value[c].isna().any())
            )
            for c in value.columns
        ]
    if isinstance(value, pd.Series):
        label = str(value.name) if value.name is not None else name
        return [ColumnSpec(name=label, type=_series_type(value), nullable=bool(value.isna().any()))]
    array = np.asarray(value)
    shape = [-1, *array.shape[1:]] if array.ndim else []
    nullable = array.dtype.kind == "f" and bool(np.isnan(array).any())
    return [ColumnSpec(name=name, type=array.dtype.name, shape=shape, nullable=nullable)]


def _as_table(example: Any) -> Any:
    import pandas as pd

    if isinstance(example, dict):
        return pd.DataFrame(example)
    return example


def infer_signature(example: Any, output: Any = None) -> Signature | None:
    """The signature of `example` (a DataFrame, dict of columns or array) and of `output`
    (what the model predicted for it); None without an example."""
    import pandas as pd

    if example is None:
        return None
    example = _as_table(example)
    kind = "dataframe" if isinstance(example, pd.DataFrame) else "tensor"
    outputs = tensor_specs(output) if output is not None else []
    return Signature(input_kind=kind, inputs=tensor_specs(example), outputs=outputs)


def check_input(signature: Signature | None, data: Any) -> None:
    """Raise Invalid, naming what is missing, when `data` cannot be what the model takes."""
    if signature is None:
        return
    import pandas as pd

    if signature.input_kind == "dataframe" and isinstance(data, pd.DataFrame):
        missing = [c for c in signature.columns if c not in data.columns]
        if missing:
            shown = ", ".join(signature.columns[:20]) + (
                " ..." if len(signature.columns) > 20 else ""
            )
            raise Invalid(
                f"the input lacks column(s) {', '.join(repr(c) for c in missing[:20])}; the "
                f"model takes {len(signature.columns)} columns: {shown}",
                field="data",
            )
        return
    expected = signature.inputs[0].shape if signature.input_kind == "tensor" else None
    width = expected[1] if expected and len(expected) == 2 and expected[1] != -1 else None
    if width is not None and isinstance(data, np.ndarray) and data.shape[1:] != (width,):
        raise Invalid(
            f"the input has shape {list(data.shape)}; the model takes rows of "
            f"{width} values (shape {expected})",
            field="data",
        )


def model_columns(signature: Signature | None, data: Any) -> Any:
    """`data` checked (check_input), and a DataFrame cut to the columns the model takes,
    in its signature's order: the others (ids, labels) never reach the model, as in the
    service and `knot predict`."""
    check_input(signature, data)
    import pandas as pd

    if (
        signature is not None
        and signature.input_kind == "dataframe"
        and isinstance(data, pd.DataFrame)
        and list(data.columns) != signature.columns
    ):
        return data[signature.columns]
    return data
