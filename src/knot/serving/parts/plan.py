"""How a batch-scoring job splits its input: one part per Parquet row group of each
input file, named by the file's place and the row group's, so the same input always
makes the same parts (which is what lets a job resume)."""

from __future__ import annotations

import glob as globbing
from dataclasses import dataclass
from pathlib import Path

from knot.errors import Invalid

__all__ = ["Part", "input_files", "plan_parts"]


@dataclass(frozen=True)
class Part:
    """Row group `row_group` of input file number `file_index` (in sorted order)."""

    path: str
    file_index: int
    row_group: int
    rows: int

    @property
    def name(self) -> str:
        return f"part-{self.file_index:05d}-{self.row_group:05d}.parquet"


def input_files(spec: str) -> list[Path]:
    """The Parquet files `spec` names: a file, a folder (its *.parquet) or a glob."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.glob("*.parquet") if p.is_file())
        where = f"folder {spec!r} holds no *.parquet file"
    else:
        files = sorted(Path(p) for p in globbing.glob(spec) if Path(p).is_file())
        where = f"{spec!r} matches no file"
    if not files:
        raise Invalid(f"{where}; pass a Parquet file, a folder of them or a glob", field="input")
    return files


def plan_parts(spec: str) -> list[Part]:
    """Every (file, row group) of the input, in order; Invalid names a file that is not
    Parquet or the input having no rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = []
    schema = None
    for index, path in enumerate(input_files(spec)):
        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowInvalid, OSError) as exc:
            raise Invalid(
                f"input {str(path)!r} is not a Parquet file ({exc})", field="input"
            ) from None
        file_schema = meta.schema.to_arrow_schema()
        if schema is not None and not file_schema.equals(schema):
            raise Invalid(
                f"input {str(path)!r} has other columns than the files before it; score "
                "files of one schema together",
                field="input",
            )
        schema = file_schema
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            if rows:
                parts.append(Part(str(path), index, group, rows))
    if not parts:
        raise Invalid(f"input {spec!r} has no rows to score", field="input")
    return parts
