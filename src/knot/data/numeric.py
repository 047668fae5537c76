"""Exact mean, std, quantiles and histogram of one numeric column, with NumPy.

Used while exact quantiles fit in memory (knot.data.profile.exact_quantiles): the
column is read alone from the Parquet file, so memory holds one column at a time, and
NumPy's selection (np.quantile) and arithmetic are about twice as fast as the same
aggregates in DuckDB. The results mean exactly what the DuckDB aggregates mean:
quantiles interpolate linearly (quantile_cont), std is the sample one, and a value's
histogram bin is floor((x - lo) / width), clamped to the bins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["numeric_statistics"]

_CHUNK = 1 << 20  # values binned at a time, so temporaries stay small


def numeric_statistics(
    path: Path,
    name: str,
    quantiles: tuple[float, ...],
    bins: int,
    lo: float | None,
    hi: float | None,
    finite_only: bool,
) -> dict[str, Any]:
    """mean, std, quantiles (a list, one per q) and bins ({bin index: count}) of the
    column `name`, leaving out nulls and, if `finite_only`, NaN and infinities."""
    column = pq.ParquetFile(path).read(columns=[name], use_threads=False).column(0)
    if pa.types.is_decimal(column.type):
        column = pc.cast(column, pa.float64())
    x = column.drop_null().to_numpy()
    del column  # one copy of the values at a time: the NumPy one
    if finite_only:
        x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "std": None, "quantiles": [], "bins": None}
    out: dict[str, Any] = {
        "mean": float(np.mean(x, dtype=np.float64)),
        "std": float(np.std(x, ddof=1, dtype=np.float64)) if x.size > 1 else None,
        "bins": None,
    }
    if lo is not None and hi is not None and hi > lo:
        width = (hi - lo) / bins
        counts = np.zeros(bins, dtype=np.int64)
        for start in range(0, x.size, _CHUNK):
            part = (x[start : start + _CHUNK] - lo) / width
            index = np.clip(np.floor(part), 0, bins - 1).astype(np.int64)
            counts += np.bincount(index, minlength=bins)
        out["bins"] = {i: int(n) for i, n in enumerate(counts) if n}
    if not x.flags.writeable:  # a view of Arrow's buffer
        x = x.copy()
    # last, as it reorders x in place instead of sorting a copy
    out["quantiles"] = np.quantile(x, quantiles, overwrite_input=True).tolist()
    return out
