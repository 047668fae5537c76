"""The inputs a model was served with, read back from its prediction log: for the skew
check of a model served from a feature service (knot.features.skew), by hand or in each
monitoring window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from knot.errors import Invalid
from knot.serving.logs.predictions import prediction_log_dataset

__all__ = ["served_table", "served_values"]


def served_values(model: str, version: int | None = None, root: Path | None = None) -> pa.Table:
    """The inputs a model was served with, from its prediction log: one row per answered
    row, its `timestamp` and each input column (entity keys and features)."""
    dataset = prediction_log_dataset(model, root)
    if dataset is None:
        raise Invalid(
            f"model {model!r} has no prediction log yet; serve it and send requests first",
            field="model",
        )
    return served_table(dataset, version)


def served_table(
    dataset: Any, version: int | None = None, start_ms: int | None = None, end_ms: int | None = None
) -> pa.Table:
    """`served_values` of an opened prediction log (a pyarrow Dataset), optionally of one
    version and the window [start_ms, end_ms). Shadow answers are left out: nobody was
    served them."""
    keep = ds.field("role") != "shadow"
    if version is not None:
        keep &= ds.field("version") == version
    at = ds.field("timestamp")
    if start_ms is not None:
        keep &= at >= pa.scalar(start_ms, pa.timestamp("ms", tz="UTC"))
    if end_ms is not None:
        keep &= at < pa.scalar(end_ms, pa.timestamp("ms", tz="UTC"))
    table = dataset.to_table(columns=["timestamp", "features"], filter=keep)
    inputs = table.column("features").combine_chunks()
    out = {"timestamp": table.column("timestamp")}
    if pa.types.is_struct(inputs.type):
        for i, spec in enumerate(inputs.type):
            out[spec.name] = pc.struct_field(inputs, i)
    return pa.table(out)
