"""Batch scoring: a Parquet or CSV file in (by extension), the same rows with a
`prediction` column out, streamed in chunks (memory stays at one chunk) with a progress
bar. Every input column is written back beside the prediction; only the ones the
model's signature names reach the model, so ids and labels pass through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from knot.errors import Invalid
from knot.serving.columns import check_columns, model_input
from knot.serving.sources import ServedModel, load_source

__all__ = ["open_input", "open_output", "score_file"]


def score_file(
    model: str | ServedModel,
    input_path: str | Path,
    output_path: str | Path,
    *,
    chunk_rows: int = 50_000,
    column: str = "prediction",
    progress: bool = True,
) -> int:
    """Score every row of `input_path` with `model` (a URI or a loaded model) and write
    them, with their predictions in `column`, to `output_path`. Returns the row count."""
    import pyarrow as pa
    from rich.progress import Progress

    src, dst = Path(input_path), Path(output_path)
    if not src.is_file():
        raise Invalid(
            f"input file {str(src)!r} does not exist; pass a Parquet or CSV file", field="input"
        )
    if chunk_rows < 1:
        raise Invalid(f"chunk size {chunk_rows} is not positive", field="chunk_rows")
    names, total, chunks = open_input(src, chunk_rows)
    if column in names:
        raise Invalid(
            f"the input already has a column {column!r}; name the output column with --column",
            field="column",
        )
    served = load_source(model) if isinstance(model, str) else model
    written = 0
    tmp = dst.with_name(f".{dst.name}.tmp")
    writer: Any = None
    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"scoring with {served.label}", total=total)
            for chunk in chunks:
                given = {
                    n: chunk.column(n).to_numpy(zero_copy_only=False) for n in chunk.schema.names
                }
                columns = check_columns(served.signature, given)
                out = np.asarray(served.model.model.predict(model_input(served.signature, columns)))
                table = pa.Table.from_batches([chunk]).append_column(column, pa.array(list(out)))
                if writer is None:
                    writer = open_output(tmp, dst, table.schema)
                writer.write_table(table)
                written += chunk.num_rows
                bar.advance(task, chunk.num_rows)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    if writer is None:
        raise Invalid(f"input file {str(src)!r} has no rows to score", field="input")
    writer.close()
    tmp.replace(dst)
    return written


def open_input(src: Path, chunk_rows: int) -> tuple[list[str], int | None, Iterator[Any]]:
    """The column names, the row count (None for CSV, known only once read) and the
    record batches of `src`: CSV when its name ends in .csv, else Parquet."""
    import pyarrow as pa

    if src.suffix.lower() == ".csv":
        import pyarrow.csv as pcsv

        try:
            # a block of about 200 bytes a row keeps each batch near chunk_rows rows
            reader = pcsv.open_csv(
                src, read_options=pcsv.ReadOptions(block_size=max(chunk_rows * 200, 1 << 16))
            )
        except (pa.ArrowInvalid, OSError) as exc:
            raise Invalid(
                f"input file {str(src)!r} is not a readable CSV table ({exc})", field="input"
            ) from None
        return reader.schema.names, None, _csv_batches(src, reader)
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(src)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(
            f"input file {str(src)!r} is not a Parquet file ({exc}); CSV files must end in .csv",
            field="input",
        ) from None
    return (
        parquet.schema_arrow.names,
        parquet.metadata.num_rows,
        parquet.iter_batches(batch_size=chunk_rows),
    )


def _csv_batches(src: Path, reader: Any) -> Iterator[Any]:
    import pyarrow as pa

    try:
        for batch in reader:
            if batch.num_rows:
                yield batch
    except pa.ArrowInvalid as exc:  # a later block that does not fit the first one's types
        raise Invalid(
            f"input file {str(src)!r} cannot be read past its first rows ({exc}); give each "
            "column one type throughout, or write the file as Parquet",
            field="input",
        ) from None


def open_output(tmp: Path, dst: Path, schema: Any) -> Any:
    """A writer of `schema` to `tmp` (renamed to `dst` once complete): CSV when `dst`
    ends in .csv, else Parquet. Both have write_table and close."""
    if dst.suffix.lower() == ".csv":
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(tmp, schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(tmp, schema)
