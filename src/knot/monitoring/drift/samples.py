"""What drift compares: tables from any source, and one column of them as a sorted
numeric `Sample` or as category counts.

A source is a pandas DataFrame, an Arrow table or record batch, a dataset URI
("dataset:churn@3"), or a Parquet/CSV file or folder of Parquet files. A table with a
`features` struct column (a window of the prediction log) has that struct's fields
and its `prediction` as its columns (request ids, timestamps and the like are left
out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from knot.errors import Invalid
from knot.monitoring.drift.report import PREDICTION
from knot.monitoring.drift.stats import Sample

__all__ = [
    "Categories",
    "Family",
    "as_float64",
    "category_counts",
    "comparable_columns",
    "family",
    "load_table",
    "numeric_sample",
    "struct_table",
    "text_example",
    "without_pandas_index",
]

Family = Literal["numeric", "categorical"]
DATASET_SCHEME = "dataset:"
FEATURES = "features"


@dataclass(frozen=True)
class Categories:
    """Counts per category (values as text) and how many values were null."""

    counts: dict[str, int]
    missing: int = 0

    @property
    def n(self) -> int:
        return sum(self.counts.values())


def family(t: pa.DataType) -> Family | None:
    """numeric for integers, floats, decimals, dates and timestamps; categorical for
    text, dictionaries and booleans; None for what drift cannot compare (binary,
    nested)."""
    if pa.types.is_dictionary(t) or pa.types.is_boolean(t):
        return "categorical"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "categorical"
    if (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
    ):
        return "numeric"
    return None


def comparable_columns(reference: pa.Table, current: pa.Table) -> list[str]:
    """The columns of `current` that `reference` has too, with the same family of values."""
    out = []
    for name in current.column_names:
        kind = family(current.schema.field(name).type)
        if kind is None or name not in reference.column_names:
            continue
        if family(reference.schema.field(name).type) == kind:
            out.append(name)
    return out


def load_table(source: Any, side: str) -> pa.Table:
    """The rows of `source` as an Arrow table; `side` ("reference"/"current") names it
    in errors."""
    if isinstance(source, pa.Table):
        table = source
    elif isinstance(source, pa.RecordBatch):
        table = pa.Table.from_batches([source])
    elif isinstance(source, str | Path):
        table = _read(source, side)
    elif _is_dataframe(source):
        table = _from_pandas(source, side)
    else:
        raise Invalid(
            f"{side} must be a pandas DataFrame, an Arrow table, a dataset URI "
            f"('dataset:NAME@VERSION') or a .parquet/.csv path, got {type(source).__name__}",
            field=side,
        )
    return _flatten_features(table, side)


def _is_dataframe(value: Any) -> bool:
    import pandas as pd

    return isinstance(value, pd.DataFrame)


def _from_pandas(frame: Any, side: str) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        failed = exc
    for name in frame.columns:
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            message = _mixed_message(side, str(name), frame[name], exc)
            raise Invalid(message, field=str(name)) from exc
    raise Invalid(
        f"{side} could not be converted to Arrow ({failed}); give every column one type",
        field=side,
    ) from failed


def _mixed_message(side: str, name: str, values: Any, exc: Exception) -> str:
    import numbers

    kept = values.dropna()
    is_number = kept.map(lambda v: isinstance(v, numbers.Number) and not isinstance(v, bool))
    is_text = kept.map(lambda v: isinstance(v, str))
    if is_number.any() and is_text.any():
        minority = is_text if is_text.sum() <= is_number.sum() else is_number
        row = minority.idxmax()
        return (
            f"{side} column {name!r} mixes numbers and text ({int(is_text.sum())} text, "
            f"{int(is_number.sum())} numbers; e.g. {kept[row]!r} at index {row!r}); "
            f"make it numbers with pd.to_numeric(df[{name!r}], errors='coerce') (text "
            f"becomes missing) or text with df[{name!r}].astype(str)"
        )
    return (
        f"{side} column {name!r} holds values of more than one type ({exc}); convert it "
        "to one type (numbers, text or timestamps) before comparing"
    )


def _read(source: str | Path, side: str) -> pa.Table:
    text = str(source)
    if text.startswith(DATASET_SCHEME):
        from knot.tracking.datasets import load_dataset

        ref = text[len(DATASET_SCHEME) :]
        if not ref:
            raise Invalid(
                f"{side} {text!r} names no dataset; write dataset:NAME@VERSION", field=side
            )
        table = load_dataset(ref, format="arrow")
        assert isinstance(table, pa.Table)
        return table
    path = Path(text)
    if not path.exists():
        raise Invalid(
            f"{side} {text!r} is neither a dataset URI (dataset:NAME@VERSION) nor an "
            "existing file; check the path",
            field=side,
        )
    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv

            return pcsv.read_csv(path)
        import pyarrow.parquet as pq

        return without_pandas_index(pq.read_table(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(
            f"{side} {text!r} could not be read as Parquet or CSV ({exc}); pass a .parquet "
            "file, a folder of them or a .csv file",
            field=side,
        ) from exc


def without_pandas_index(table: pa.Table) -> pa.Table:
    """Drop the columns pandas stored for a DataFrame's index (`__index_level_0__`):
    `df.to_parquet(path)` writes one whenever the index is not a plain range, and it is
    bookkeeping, not a feature the reference could share (a named index is kept: it
    is the user's column)."""
    keep = [c for c in table.column_names if not c.startswith("__index_level_")]
    return table.select(keep) if len(keep) < table.num_columns else table


def _flatten_features(table: pa.Table, side: str) -> pa.Table:
    if FEATURES not in table.column_names:
        return table
    column = table.column(FEATURES)
    if not pa.types.is_struct(column.type):
        return table
    fields = [column.type.field(i).name for i in range(column.type.num_fields)]
    clash = sorted(set(fields) & set(table.column_names))
    if clash:
        raise Invalid(
            f"{side} has both a features struct and top-level columns {clash}; rename one of them",
            field=side,
        )
    # a prediction log window: its features and the prediction, not the log's bookkeeping
    features = struct_table(column)
    if PREDICTION in table.column_names:
        return features.append_column(PREDICTION, table.column(PREDICTION))
    return features


def struct_table(column: pa.ChunkedArray) -> pa.Table:
    """A struct column's fields (a prediction log's `features`) as top-level columns."""
    struct = column.type
    names = [struct.field(i).name for i in range(struct.num_fields)]
    return pa.Table.from_arrays([pc.struct_field(column, i) for i in range(len(names))], names)


def as_float64(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric, temporal or all-null column as float64, nulls as NaN. Timestamps,
    dates, times and durations are their integer count of units; integers beyond 2**53
    (nanosecond timestamps, 64-bit ids) round to the nearest float, which is far finer
    than any drift statistic needs, instead of failing Arrow's lossless cast."""
    t = column.type
    if pa.types.is_temporal(t):
        column = pc.cast(column, pa.int64() if t.bit_width == 64 else pa.int32())
    if not pa.types.is_float64(column.type):
        column = pc.cast(column, pa.float64(), safe=False)
    if column.null_count:
        column = pc.fill_null(column, np.nan)
    return np.asarray(column.to_numpy(), dtype=np.float64)


def numeric_sample(column: pa.ChunkedArray) -> Sample:
    """The column's finite values sorted, nulls and NaN counted as missing."""
    return Sample.of(as_float64(column))


def category_counts(column: pa.ChunkedArray) -> Categories:
    """Counts per category in one hash pass (Arrow's value_counts; a dictionary column
    is counted by its codes, not decoded)."""
    counted = pc.value_counts(column)
    values = counted.field("values").to_pylist()
    numbers = counted.field("counts").to_pylist()
    counts = {_text(v): int(n) for v, n in zip(values, numbers, strict=True) if v is not None}
    return Categories(counts, column.null_count)


def text_example(column: pa.ChunkedArray, limit: int = 1000) -> str | None:
    """A value of a text column that does not read as a number, to name in errors."""
    if family(column.type) != "categorical" or pa.types.is_boolean(column.type):
        return None
    for value in pc.unique(column).to_pylist()[:limit]:
        if value is None:
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            return str(value)
    return None


def _text(value: Any) -> str:
    # booleans read as DuckDB writes them in profiles, so both sides name them alike
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
