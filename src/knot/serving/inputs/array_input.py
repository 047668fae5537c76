"""Whether a served model can be called with a plain 2-D array instead of a DataFrame.

A scikit-learn estimator fitted on a DataFrame checks the column names it is given and
then turns the frame into the same float array anyway; building the frame and checking
it costs several times the prediction on one row. The signature's columns arrive in the
order the model was fitted on, so the array holds the very numbers the frame would. It
is used only where nothing can tell the two apart: a scikit-learn model (or pipeline of
scikit-learn steps) with no step that selects columns by name, fitted on exactly the
signature's columns in that order, and whose warm-up prediction is the same both ways.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from knot.registry.entities import Signature
from knot.registry.model_folder import LoadedModel
from knot.serving.columns import Columns, concat, model_input, row_count
from knot.serving.inputs.blocks import join_blocks, rows_of

__all__ = ["batch_input", "takes_array"]

# steps that read columns by name, or run user code that may: they get a DataFrame
_BY_NAME = ("ColumnTransformer", "FunctionTransformer", "FeatureUnion")


def takes_array(loaded: LoadedModel, example: Columns | None) -> bool:
    """True when `loaded` may be given the 2-D block of its signature's columns. Checked
    once, when the model is loaded; `example` is its warm-up input (None: never)."""
    signature = loaded.signature
    lean = getattr(loaded.model, "knot_numpy_form", False)
    if example is None or loaded.flavor != "sklearn" or not _plain(signature, mixed=lean):
        return False
    assert signature is not None
    model = loaded.model
    names = [s.name for s in signature.inputs]
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None or list(fitted) != names:
        return False
    if lean:
        return True  # checked against the estimator on arrays when it was registered
    if not _sklearn_only(model):
        return False
    import pandas as pd

    _quiet()
    block = np.column_stack(list(example.values()))
    try:
        framed = np.asarray(model.predict(pd.DataFrame(block, columns=names, copy=False)))
        bare = np.asarray(model.predict(block))
    except Exception:  # a synthetic row it refuses: keep the DataFrame
        return False
    return framed.shape == bare.shape and bool(np.array_equal(framed, bare))


def _plain(signature: Signature | None, *, mixed: bool = False) -> bool:
    """Named numeric columns of one dtype: the block is what the frame would hold.
    `mixed`: of any numeric dtypes, which the block promotes to their common type as a
    frame's values do (for a numpy form, which turns a frame into that array itself)."""
    if signature is None or signature.input_kind == "tensor" or not signature.inputs:
        return False
    types = {s.type for s in signature.inputs}
    if (len(types) != 1 and not mixed) or any(s.name is None for s in signature.inputs):
        return False
    try:
        return all(np.dtype(t).kind in "fiu" for t in types)
    except TypeError:
        return False


def _sklearn_only(model: Any) -> bool:
    parts = [model]
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        try:
            parts += [v for v in get_params(deep=True).values() if hasattr(v, "fit")]
        except Exception:
            return False
    for part in parts:
        cls = type(part)
        if not cls.__module__.startswith("sklearn.") or cls.__name__ in _BY_NAME:
            return False
    return True


def _quiet() -> None:
    # the estimator notes once per call that the array has no column names; here the
    # columns are known to be in its order
    warnings.filterwarnings(
        "ignore", message="X does not have valid feature names", category=UserWarning
    )


def batch_input(
    signature: Signature | None, parts: list[Columns], *, as_array: bool = False
) -> tuple[Any, int]:
    """What the model's predict takes for several requests' columns, and its row count.
    With `as_array`, requests of as many rows each are stacked in one call (column by
    column concatenation makes a call per column)."""
    if as_array and len(parts) > 1:
        joined = join_blocks(parts)  # float requests: one concatenate
        if joined is not None:
            return rows_of(joined), joined.array.shape[1]
        keys = tuple(parts[0])
        rows = row_count(parts[0])
        dtypes = {v.dtype for p in parts for v in p.values()}
        same = all(tuple(p) == keys and row_count(p) == rows for p in parts)
        if same and len(dtypes) == 1 and next(iter(dtypes)).kind in "fiub":
            cube = np.array([list(p.values()) for p in parts])  # requests x columns x rows
            return cube.transpose(0, 2, 1).reshape(-1, len(keys)), rows * len(parts)
    columns = concat(parts)
    return model_input(signature, columns, as_array=as_array), row_count(columns)
