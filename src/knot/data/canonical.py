"""Write a source as Knot's canonical Parquet file, so equal tables get equal digests.

The same rows and columns always become the same bytes (with the same pyarrow
version), whatever they came from and however the input was chunked: schema
metadata is dropped, large and view string types become plain ones, row groups
hold exactly ROW_GROUP_ROWS rows, and the writer settings are fixed. The dataset
version's digest is then the digest of this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from knot.data.entities import ColumnSchema
from knot.data.sources import Source
from knot.errors import Invalid

__all__ = ["ROW_GROUP_ROWS", "Written", "column_kind", "write_canonical"]

ROW_GROUP_ROWS = 131_072
MAX_CATEGORIES = 1_000
_WRITER = {
    "compression": "snappy",
    "version": "2.6",
    "use_dictionary": True,
    "write_statistics": True,
}


@dataclass
class Written:
    rows: int
    schema: pa.Schema
    null_counts: list[int]
    categories: dict[str, dict[str, None]] = field(default_factory=dict)

    def columns(self) -> list[ColumnSchema]:
        out = []
        for f, nulls in zip(self.schema, self.null_counts, strict=True):
            cats = self.categories.get(f.name)
            out.append(
                ColumnSchema(
                    name=f.name,
                    type=str(f.type),
                    kind=column_kind(f.type),
                    nullable=nulls > 0,
                    categories=list(cats) if cats and len(cats) <= MAX_CATEGORIES else None,
                )
            )
        return out


def column_kind(t: pa.DataType) -> str:
    """Knot's name for a column's family of types, used by rules and profiles."""
    if pa.types.is_dictionary(t):
        return "categorical"
    checks = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "float"),
        (pa.types.is_decimal, "decimal"),
        (
            lambda x: (
                pa.types.is_string(x) or pa.types.is_large_string(x) or pa.types.is_string_view(x)
            ),
            "string",
        ),
        (pa.types.is_timestamp, "timestamp"),
        (pa.types.is_date, "date"),
        (
            lambda x: (
                pa.types.is_binary(x)
                or pa.types.is_large_binary(x)
                or pa.types.is_fixed_size_binary(x)
            ),
            "binary",
        ),
    ]
    return next((kind for check, kind in checks if check(t)), "other")


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return pa.dictionary(t.index_type, _plain(t.value_type), t.ordered)
    return t


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    names = [f.name for f in schema]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise Invalid(
            f"the table has more than one column named {dupes}; rename them so each "
            "column name is used once",
            field="source",
        )
    if not names:
        raise Invalid("the table has no columns; a dataset needs at least one", field="source")
    return pa.schema([pa.field(f.name, _plain(f.type), f.nullable) for f in schema])


def write_canonical(
    source: Source, dest: Path, on_rows: Callable[[int], None] | None = None
) -> Written:
    """Stream `source` into `dest` as canonical Parquet; `on_rows` hears of each batch."""
    schema = canonical_schema(source.schema)
    written = Written(0, schema, [0] * len(schema))
    for f in schema:
        if pa.types.is_dictionary(f.type):
            written.categories[f.name] = {}
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with pq.ParquetWriter(dest, schema, **_WRITER) as writer:
        for batch in source.batches:
            batch = _conform(batch, schema)
            _note(written, batch)
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= ROW_GROUP_ROWS:
                table = pa.Table.from_batches(pending, schema)
                _write_group(writer, table.slice(0, ROW_GROUP_ROWS))
                rest = table.slice(ROW_GROUP_ROWS)
                pending, pending_rows = rest.to_batches(), rest.num_rows
            if on_rows is not None:
                on_rows(batch.num_rows)
        if pending_rows or written.rows == 0:
            _write_group(writer, pa.Table.from_batches(pending, schema))
    return written


def _write_group(writer: pq.ParquetWriter, table: pa.Table) -> None:
    # One contiguous chunk per column, so page boundaries depend on the data alone.
    writer.write_table(table.combine_chunks(), row_group_size=ROW_GROUP_ROWS)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    try:
        return pa.RecordBatch.from_arrays(
            [col.cast(f.type) for col, f in zip(batch.columns, schema, strict=True)],
            schema=schema,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
        raise Invalid(
            f"a batch of the source does not fit the schema of the first one ({exc}); "
            "give every batch the same columns and types",
            field="source",
        ) from None


def _note(written: Written, batch: pa.RecordBatch) -> None:
    written.rows += batch.num_rows
    for i, col in enumerate(batch.columns):
        written.null_counts[i] += col.null_count
    for name, seen in written.categories.items():
        if len(seen) > MAX_CATEGORIES:
            continue
        column = batch.column(name)
        for value in column.dictionary.to_pylist():
            seen.setdefault(str(value), None)
