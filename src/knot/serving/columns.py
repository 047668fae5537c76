"""Input columns checked against a model's signature.

A request's inputs become `Columns`: one numpy array per signature column, in the
signature's order and cast to its dtype (or, for a tensor model, one 2-D array under
the key ""). Columns the signature does not name (ids, labels) are left out: they never
break a prediction and never reach the model. Anything the model could not take is
Invalid (422) naming the column, the row where it matters and the expected type, so the
model is never called with it. Values are checked as they were sent, before numpy sees
them: a boolean is not a number, a number is not a string, a list is not one value, and
a null is refused unless the signature says the model takes missing values there
(ColumnSpec.nullable).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from knot.errors import Invalid
from knot.registry.entities import ColumnSpec, Signature
from knot.serving.inputs.blocks import Block, float_columns, join_blocks, rows_of

__all__ = [
    "TENSOR",
    "Columns",
    "check_columns",
    "column_specs",
    "concat",
    "model_input",
    "row_count",
    "take",
]

Columns = dict[str, np.ndarray]
TENSOR = ""  # the key of a tensor model's single 2-D input
_NONE = type(None)
_EXACT = 2**53  # the largest whole numbers a float holds exactly
# the Python types a JSON value may have in a column of each kind (exact types: bool is
# a subclass of int, and must not pass as a number)
_ALLOWED: dict[str, frozenset[type]] = {
    "float": frozenset({int, float}),
    "int": frozenset({int, float}),  # a float only when it is a whole number
    "bool": frozenset({bool}),
    "string": frozenset({str}),
}


@functools.cache
def _kind(type_name: str) -> str:
    if type_name in ("string", "category"):
        return "string"
    if type_name == "bool":
        return "bool"
    if not type_name.startswith(("float", "int", "uint")):
        return "any"
    try:
        dtype = np.dtype(type_name)
    except TypeError:  # e.g. "int64[pyarrow]": passed to the model as it comes
        return "any"
    return "float" if dtype.kind == "f" else "int"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bad(column: str, spec: ColumnSpec, why: str) -> Invalid:
    return Invalid(
        f"input column {column!r} {why}; the model expects {spec.type} values there",
        field=column,
    )


def _refuse(column: str, spec: ColumnSpec, row: int, value: Any) -> Invalid:
    if value is None or (isinstance(value, float) and value != value):
        return Invalid(
            f"input column {column!r} has a null at row {row}; the model expects {spec.type} "
            "values there and its signature allows no missing values. Fill the value in, or "
            "log the model with an input example that has a missing value in this column",
            field=column,
        )
    if isinstance(value, list | tuple | dict | np.ndarray):
        return _bad(column, spec, f"has a {type(value).__name__} at row {row}, not one value")
    return _bad(column, spec, f"has {_shown(value)} ({type(value).__name__}) at row {row}")


def _first(values: list[Any], allowed: frozenset[type]) -> tuple[int, Any]:
    return next((i, v) for i, v in enumerate(values) if type(v) not in allowed)


def _out_of_range(column: str, spec: ColumnSpec, row: int, value: Any) -> Invalid:
    dtype = np.dtype(spec.type)
    if dtype.kind == "f":
        bounds = f"+-{np.finfo(dtype).max:.3g}"
    else:
        info = np.iinfo(dtype)
        bounds = f"{info.min}..{info.max}"
    return _bad(column, spec, f"has {_shown(value)} at row {row}, outside {bounds}")


def _from_list(name: str, spec: ColumnSpec, kind: str, values: list[Any]) -> np.ndarray:
    """A column as JSON (or an Arrow object column) gave it: a list of Python values."""
    if kind == "any":
        try:
            array = np.asarray(values)
        except (ValueError, TypeError, OverflowError):
            raise _bad(name, spec, "has values of different shapes; give one per row") from None
        if array.ndim != 1:
            raise _bad(name, spec, f"has shape {list(array.shape)}, not one value per row")
        return array
    allowed = _ALLOWED[kind]
    if spec.nullable and kind in ("float", "string"):
        allowed = allowed | {_NONE}
    types = set(map(type, values))
    if not types <= allowed:
        raise _refuse(name, spec, *_first(values, allowed))
    if kind == "string":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    if kind == "bool":
        return np.array(values, dtype=bool)
    if kind == "int" and float not in types:
        try:
            return np.array(values, dtype=spec.type)
        except OverflowError:
            info = np.iinfo(spec.type)
            row = next(i for i, v in enumerate(values) if not info.min <= v <= info.max)
            raise _out_of_range(name, spec, row, values[row]) from None
    try:
        array = np.array(values, dtype=np.float64)  # None becomes NaN (nullable columns)
    except OverflowError:  # an integer beyond any float
        row = next(i for i, v in enumerate(values) if abs(v) > np.finfo(np.float64).max)
        raise _out_of_range(name, spec, row, values[row]) from None
    if kind == "float" and spec.type == "float64":
        return array  # JSON numbers are finite, and nulls got here only where allowed
    return _numbers(name, spec, kind, array)


def _from_array(name: str, spec: ColumnSpec, kind: str, array: np.ndarray) -> np.ndarray:
    """A column read from CSV or Arrow: a typed numpy array."""
    if array.ndim != 1:
        raise _bad(name, spec, f"has shape {list(array.shape)}, not one value per row")
    if kind == "any":
        return array
    have = array.dtype.kind
    if kind == "string" and have == "U":
        return array.astype(object)
    if kind == "bool" and have == "b":
        return array
    if kind in ("float", "int") and have in "fiu":
        return _numbers(name, spec, kind, array)
    if not len(array):
        raise _bad(name, spec, f"has {array.dtype} values")
    raise _refuse(name, spec, 0, array[0].item())  # a column of one type: its first value


def _numbers(name: str, spec: ColumnSpec, kind: str, array: np.ndarray) -> np.ndarray:
    """Numbers cast to the column's dtype: nulls (NaN) only where allowed, ints whole and
    every value within the dtype's range (numpy would wrap or overflow silently)."""
    dtype = np.dtype(spec.type)
    if array.dtype.kind == "f":
        nan = np.isnan(array)
        if nan.any() and (kind == "int" or not spec.nullable):
            raise _refuse(name, spec, int(np.argmax(nan)), None)
        if kind == "int":
            whole = array == np.floor(array)
            if not whole.all():
                row = int(np.argmin(whole))
                value = array[row].item()
                raise _bad(name, spec, f"has {value!r} at row {row}, not a whole number")
            # a float this large is not the number sent (JSON readers make one of an
            # integer beyond int64: -2**63 - 1 would arrive as -2**63, in range)
            vague = np.abs(array) > _EXACT
            if vague.any():
                row = int(np.argmax(vague))
                info = np.iinfo(spec.type)
                raise _bad(
                    name,
                    spec,
                    f"has {array[row].item()!r} at row {row}: so large a number must be an "
                    f"integer written without fraction or exponent, within {info.min}..{info.max}",
                )
    if kind == "float":
        with np.errstate(over="ignore", invalid="ignore"):
            out = array.astype(dtype)
        overflow = np.isinf(out) & ~np.isinf(array)
        if overflow.any():
            row = int(np.argmax(overflow))
            raise _out_of_range(name, spec, row, array[row].item())
        return out
    info = np.iinfo(dtype)
    if len(array):
        low, high = array.min(), array.max()
        if low < info.min or high > info.max:
            outside = (array < info.min) | (array > info.max)
            row = int(np.argmax(outside))
            raise _out_of_range(name, spec, row, array[row].item())
    return array.astype(dtype, copy=False)


def _check_one(name: str, spec: ColumnSpec, values: Any) -> np.ndarray:
    kind = _kind(spec.type)
    if isinstance(values, np.ndarray):
        if values.dtype.kind != "O":
            return _from_array(name, spec, kind, values)
        values = values.tolist()  # Arrow strings or mixed values: checked one by one
    return _from_list(name, spec, kind, list(values))


def check_columns(signature: Signature | None, given: dict[str, Any]) -> Columns:
    """The given columns checked and cast; Invalid names the first column that is wrong."""
    if signature is None:
        return _unchecked(given)
    if signature.input_kind == "tensor":
        return {TENSOR: _check_tensor(signature.inputs[0], given)}
    specs, floats = column_specs(signature)
    if type(given) is Block and given.names is specs:
        return given  # one record of numbers, read and checked by float_row
    missing = [c for c in specs if c not in given]
    if missing:
        spec = specs[missing[0]]
        # columns the model does not take (ids, labels) are left out, never refused; named
        # here, they show a misspelt column
        extra = [_shown(str(c)) for c in given if c not in specs]
        more = " ..." if len(extra) > 10 else ""
        also = f"; given but not taken: {', '.join(extra[:10])}{more}" if extra else ""
        raise Invalid(
            f"input column {missing[0]!r} is missing; the model expects {spec.type} values "
            f"there (it takes {len(specs)} columns{also})",
            field=missing[0],
        )
    block = float_columns(specs, given) if floats else None
    if block is not None:
        return block
    out = {name: _check_one(name, spec, given[name]) for name, spec in specs.items()}
    _same_lengths(out)
    return out


# id(signature) -> (signature, its named columns, whether all are float64 without nulls):
# worked out once per served model, not per request
_SPECS: dict[int, tuple[Signature, dict[str, ColumnSpec], bool]] = {}


def column_specs(signature: Signature) -> tuple[dict[str, ColumnSpec], bool]:
    """The signature's named columns, and whether all are float64 without nulls."""
    known = _SPECS.get(id(signature))
    if known is not None and known[0] is signature:
        return known[1], known[2]
    specs = {s.name: s for s in signature.inputs if s.name is not None}
    floats = bool(specs) and all(s.type == "float64" and not s.nullable for s in specs.values())
    if len(_SPECS) > 64:  # models come and go in a long-lived process
        _SPECS.clear()
    _SPECS[id(signature)] = (signature, specs, floats)
    return specs, floats


def _unchecked(given: dict[str, Any]) -> Columns:
    """A model logged without an input example: columns as numpy reads them."""
    out: Columns = {}
    for name, values in given.items():
        try:
            out[str(name)] = np.asarray(values)
        except (ValueError, TypeError, OverflowError):
            raise Invalid(
                f"input column {_shown(name)} has values of different shapes; give one "
                "value per row",
                field=str(name),
            ) from None
    _same_lengths(out)
    return out


def _same_lengths(columns: Columns) -> None:
    lengths = {len(v) if v.ndim else 1 for v in columns.values()}
    if len(lengths) > 1:
        raise Invalid(
            f"input columns have different lengths ({sorted(lengths)}); give every column "
            "one value per row",
            field="inputs",
        )
    if lengths == {0}:
        raise Invalid("the inputs have no rows; send at least one", field="inputs")


def _check_tensor(spec: ColumnSpec, given: dict[str, Any]) -> np.ndarray:
    values = given.get(TENSOR)
    kind = _kind(spec.type)
    expected = f"rows of {spec.type} numbers, such as [[1.0, 2.0], [3.0, 4.0]]"
    try:
        cells = np.array(values, dtype=object)
    except ValueError:
        cells = None
    if kind in ("float", "int", "bool"):
        allowed = _ALLOWED[kind] | ({_NONE} if spec.nullable and kind == "float" else set())
        types = {list} if cells is None else set(map(type, cells.ravel().tolist()))
        if not types <= allowed:
            if types & {list, dict}:
                shown = "rows of different lengths"
            elif _NONE in types:
                shown = "nulls, which the model's signature does not allow"
            else:
                shown = (
                    "values of another type ("
                    + ", ".join(sorted(t.__name__ for t in types - allowed))
                    + ")"
                )
            raise Invalid(f"inputs have {shown}; send {expected}", field="inputs")
    try:
        array = np.asarray(values, dtype=np.float64 if kind == "int" else spec.type)
    except (TypeError, ValueError, OverflowError):
        raise Invalid(f"inputs are not {expected}", field="inputs") from None
    shape = spec.shape or []
    if array.ndim == 1 and len(shape) == 2:
        array = array.reshape(1, -1)
    width = shape[1] if len(shape) == 2 and shape[1] != -1 else None
    if array.ndim != len(shape) or (width is not None and array.shape[1] != width):
        raise Invalid(
            f"inputs have shape {list(array.shape)}; the model takes shape {shape} "
            "(-1: any number of rows)",
            field="inputs",
        )
    if array.ndim == 0 or len(array) == 0:
        raise Invalid("the inputs have no rows; send at least one", field="inputs")
    if kind in ("float", "int"):
        flat = _numbers("inputs", spec, kind, array.reshape(-1))
        return flat.reshape(array.shape)
    return array


def row_count(columns: Columns) -> int:
    if type(columns) is Block:  # asked several times per request: no iterator made
        return int(columns.array.shape[1])
    return len(next(iter(columns.values()))) if columns else 0


def concat(parts: list[Columns]) -> Columns:
    if len(parts) == 1:
        return parts[0]
    joined = join_blocks(parts)
    if joined is not None:
        return joined
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def take(columns: Columns, start: int, stop: int) -> Columns:
    return {k: v[start:stop] for k, v in columns.items()}


def model_input(signature: Signature | None, columns: Columns, *, as_array: bool = False) -> Any:
    """What the model's predict takes: a DataFrame, or the tensor itself. `as_array`: the
    model takes the 2-D block of its columns as it is (knot.serving.inputs.array_input)."""
    if TENSOR in columns and (signature is None or signature.input_kind == "tensor"):
        return columns[TENSOR]
    if as_array and type(columns) is Block:
        return rows_of(columns)
    dtypes = {v.dtype for v in columns.values()}
    # as_array: numeric columns of several dtypes make one block of their common type
    if (len(dtypes) == 1 or as_array) and all(d.kind in "fiub" for d in dtypes):
        # one 2-D block: several times faster to build (and to read) than N columns;
        # for a few rows, transposing a stack costs less than interleaving the columns
        values = list(columns.values())
        if len(values[0]) <= 1024:
            block = np.ascontiguousarray(np.array(values).T)
        else:
            block = np.stack(values, axis=1)
        if as_array:
            return block
        import pandas as pd

        return pd.DataFrame(block, columns=list(columns), copy=False)
    import pandas as pd

    return pd.DataFrame(columns, copy=False)
