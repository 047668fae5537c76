"""Scoring one part: read its row group, predict, write OUTPUT/part-F-G.parquet whole or
not at all (a temporary file renamed into place), so a part file that exists is done."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knot.errors import Invalid
from knot.serving.columns import check_columns, model_input
from knot.serving.parts.plan import Part
from knot.serving.sources import ServedModel, load_source

__all__ = ["PartResult", "PartScorer", "file_digest"]


@dataclass(frozen=True)
class PartResult:
    name: str
    rows: int
    digest: str
    worker: int  # the scoring process's id
    peak_rss_mb: float  # that process's peak resident memory so far


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return f"sha256:{sha.hexdigest()}"


class PartScorer:
    """One worker's scorer: the model is loaded once, when the worker starts, and checked
    against the digest the job resolved (every worker scores with the same bytes)."""

    def __init__(
        self, model: str | ServedModel, digest: str, output: str, column: str = "prediction"
    ) -> None:
        self.served = load_source(model) if isinstance(model, str) else model
        if self.served.digest != digest:
            raise Invalid(
                f"{model} loaded as {self.served.digest} on {os.uname().nodename}, but the job "
                f"scores {digest}; the model changed under the job, start it again",
                field="model",
            )
        self.output = Path(output)
        self.column = column
        self.pid = os.getpid()

    def score(self, part: Part) -> PartResult:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.ParquetFile(part.path).read_row_group(part.row_group)
        given = {n: table.column(n).to_numpy() for n in table.column_names}
        columns = check_columns(self.served.signature, given)
        predicted = self.served.model.model.predict(model_input(self.served.signature, columns))
        out = table.append_column(self.column, pa.array(list(np.asarray(predicted))))
        target = self.output / part.name
        tmp = self.output / f".{part.name}.{self.pid}.tmp"  # dot files are not parts
        try:
            pq.write_table(out, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        return PartResult(part.name, out.num_rows, file_digest(target), self.pid, peak)

    def where(self) -> int:
        """The worker's process id: what a test or an operator kills."""
        return self.pid
