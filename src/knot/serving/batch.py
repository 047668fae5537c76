"""Batch scoring: a Parquet file in, the same rows with a `prediction` column out,
streamed in chunks (memory stays at one chunk) with a progress bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knot.errors import Invalid
from knot.serving.columns import check_columns, model_input
from knot.serving.sources import ServedModel, load_source

__all__ = ["score_file"]


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
    import pyarrow.parquet as pq
    from rich.progress import Progress

    src, dst = Path(input_path), Path(output_path)
    if not src.is_file():
        raise Invalid(f"input file {str(src)!r} does not exist; pass a Parquet file", field="input")
    if chunk_rows < 1:
        raise Invalid(f"chunk size {chunk_rows} is not positive", field="chunk_rows")
    try:
        reader = pq.ParquetFile(src)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(
            f"input file {str(src)!r} is not a Parquet file ({exc})", field="input"
        ) from None
    if column in reader.schema_arrow.names:
        raise Invalid(
            f"the input already has a column {column!r}; name the output column with --column",
            field="column",
        )
    served = load_source(model) if isinstance(model, str) else model
    total = reader.metadata.num_rows
    written = 0
    tmp = dst.with_name(f".{dst.name}.tmp")
    writer: pq.ParquetWriter | None = None
    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"scoring with {served.label}", total=total)
            for chunk in reader.iter_batches(batch_size=chunk_rows):
                given = {
                    n: chunk.column(n).to_numpy(zero_copy_only=False) for n in chunk.schema.names
                }
                columns = check_columns(served.signature, given)
                out = np.asarray(served.model.model.predict(model_input(served.signature, columns)))
                table = pa.Table.from_batches([chunk]).append_column(column, pa.array(list(out)))
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
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
