"""What a dataset version can be registered from, opened as a stream of Arrow batches.

Parquet files and folders are read batch by batch and CSV through DuckDB's
streaming reader, so a file larger than memory is never loaded whole. A CSV's
column types are inferred over the whole file, so a column that holds numbers
for a million rows and then a word becomes a string column instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from knot.data.duck import connect, literal
from knot.errors import Invalid, NotFound

__all__ = ["BATCH_ROWS", "Source", "open_source"]

BATCH_ROWS = 65_536
_CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.zst")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass
class Source:
    """A stream of batches with the schema they share and, when known, the row count."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    description: str
    total_rows: int | None = None
    size: int | None = None
    _keep: list[Any] = field(default_factory=list)  # objects the stream reads from


def open_source(source: object) -> Source:
    """Open a path (Parquet, CSV, a folder of Parquet files), a pandas DataFrame, an Arrow
    table, batch or reader, or anything that speaks the Arrow stream protocol (polars)."""
    if isinstance(source, str | os.PathLike):
        return _open_path(Path(source))
    if isinstance(source, pa.Table):
        return Source(
            source.schema, iter(source.to_batches(BATCH_ROWS)), "Arrow table", source.num_rows
        )
    if isinstance(source, pa.RecordBatch):
        return Source(source.schema, iter([source]), "Arrow record batch", source.num_rows)
    if isinstance(source, pa.RecordBatchReader):
        return Source(source.schema, iter(source), "Arrow stream")
    if type(source).__module__.startswith("pandas") and type(source).__name__ == "DataFrame":
        return _open_pandas(source)
    if hasattr(source, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(source)
        return Source(reader.schema, iter(reader), f"{type(source).__name__} (Arrow stream)")
    raise Invalid(
        f"cannot register a dataset from {type(source).__name__}; give a path to a Parquet "
        "file, a CSV file or a folder of Parquet files, a pandas DataFrame or an Arrow table",
        field="source",
    )


def _open_pandas(frame: Any) -> Source:
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        detail = "; ".join(str(a) for a in exc.args)
        raise Invalid(
            f"cannot store the DataFrame: {detail}; give each column one type "
            "(e.g. frame[col] = frame[col].astype(str))",
            field="source",
        ) from None
    rows, cols = frame.shape
    return Source(
        table.schema, iter(table.to_batches(BATCH_ROWS)), f"DataFrame {rows}x{cols}", rows
    )


def _open_path(path: Path) -> Source:
    if not path.exists():
        raise NotFound(f"{path} does not exist; check the path", field="source")
    if path.is_dir():
        return _open_parquet_folder(path)
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return _open_csv(path)
    if name.endswith(_PARQUET_SUFFIXES) or _has_parquet_magic(path):
        return _open_parquet_file(path)
    raise Invalid(
        f"{path} is neither Parquet nor CSV (by its name and its first bytes); "
        f"register a {', '.join(_PARQUET_SUFFIXES)} file, a {', '.join(_CSV_SUFFIXES)} file "
        "or a folder of Parquet files",
        field="source",
    )


def _has_parquet_magic(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(
            f"{path} is not a readable Parquet file ({exc}); check that it was written "
            "completely, or register the CSV it came from",
            field="source",
        ) from None


def _open_parquet_file(path: Path) -> Source:
    file = _parquet_file(path)
    return Source(
        file.schema_arrow,
        _batches_of(file, path),
        str(path),
        file.metadata.num_rows,
        path.stat().st_size,
        [file],
    )


def _batches_of(file: pq.ParquetFile, path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from file.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(
            f"{path} could not be read to the end ({exc}); the file is damaged", field="source"
        ) from None


def _open_parquet_folder(folder: Path) -> Source:
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _PARQUET_SUFFIXES)
    if not paths:
        raise Invalid(
            f"folder {folder} holds no .parquet files; register a folder of Parquet files, "
            "or a single file",
            field="source",
        )
    files = [_parquet_file(p) for p in paths]
    schema = files[0].schema_arrow.remove_metadata()
    for path, file in zip(paths[1:], files[1:], strict=True):
        other = file.schema_arrow.remove_metadata()
        if not other.equals(schema):
            raise Invalid(
                f"{path} has columns {_describe(other)}, but {paths[0]} has "
                f"{_describe(schema)}; every file of a dataset folder needs the same schema",
                field="source",
            )

    def batches() -> Iterator[pa.RecordBatch]:
        for path, file in zip(paths, files, strict=True):
            for batch in _batches_of(file, path):
                yield batch.replace_schema_metadata(None)

    return Source(
        schema,
        batches(),
        f"{folder} ({len(paths)} Parquet files)",
        sum(f.metadata.num_rows for f in files),
        sum(p.stat().st_size for p in paths),
        files,
    )


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def _open_csv(path: Path) -> Source:
    con = connect()
    try:
        # sample_size=-1: infer each column's type from every row, not the first 20,480.
        result = con.sql(f"SELECT * FROM read_csv({literal(str(path))}, sample_size = -1)")
        reader: pa.RecordBatchReader = result.to_arrow_reader(BATCH_ROWS)
    except Exception as exc:  # duckdb.Error subclasses, raised for any unreadable CSV
        con.close()
        raise Invalid(
            f"{path} could not be read as CSV: {_first_line(exc)}; fix the file or convert "
            "it to Parquet",
            field="source",
        ) from None
    return Source(
        reader.schema,
        _csv_batches(reader, path),
        str(path),
        None,
        path.stat().st_size,
        [con, result],
    )


def _csv_batches(reader: pa.RecordBatchReader, path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    except Exception as exc:
        raise Invalid(
            f"{path} could not be read as CSV: {_first_line(exc)}; fix the file or convert "
            "it to Parquet",
            field="source",
        ) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
