"""Prediction logs written in the serving log's documented layout and schema, with the
timestamps a test chooses (a real service stamps the time it answered)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HOUR = 3_600_000
_seq = itertools.count()


def write_predictions(
    root: Path,
    model: str,
    version: int,
    *,
    request_ids: Sequence[str],
    timestamps: Sequence[int],
    features: dict[str, Sequence[Any]],
    predictions: np.ndarray,
    scores: np.ndarray | None = None,
    role: str = "champion",
    rows: Sequence[int] | None = None,
) -> None:
    """One Parquet file per day under ROOT/model=M/version=V/date=D/."""
    n = len(request_ids)
    table = pa.table(
        {
            "request_id": pa.array(list(request_ids), pa.string()),
            "row": pa.array(list(rows) if rows is not None else [0] * n, pa.int32()),
            "timestamp": pa.array(list(timestamps), pa.timestamp("ms", tz="UTC")),
            "digest": pa.array([f"sha256:{version:064d}"] * n, pa.string()),
            "role": pa.array([role] * n, pa.string()),
            "features": pa.StructArray.from_arrays(
                [pa.array(list(v)) for v in features.values()], names=list(features)
            ),
            "prediction": pa.array(predictions),
            "score": pa.array(scores, pa.float64())
            if scores is not None
            else pa.nulls(n, pa.float64()),
        }
    )
    days = np.asarray(
        [dt.datetime.fromtimestamp(t / 1000, dt.UTC).date().isoformat() for t in timestamps]
    )
    for day in sorted(set(days.tolist())):
        folder = root / f"model={model}" / f"version={version}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        part = table.filter(pa.array(days == day))
        pq.write_table(part, folder / f"part-test-{next(_seq):06d}.parquet")
