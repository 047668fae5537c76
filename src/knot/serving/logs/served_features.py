"""The inputs a model was served with, read back from its prediction log: for the skew
check of a model served from a feature service (knot.features.skew)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from knot.errors import Invalid
from knot.serving.logs.predictions import prediction_log_dataset

__all__ = ["served_values"]


def served_values(model: str, version: int | None = None, root: Path | None = None) -> pa.Table:
    """The inputs a model was served with, from its prediction log: one row per answered
    row, its `timestamp` and each input column (entity keys and features)."""
    dataset = prediction_log_dataset(model, root)
    if dataset is None:
        raise Invalid(
            f"model {model!r} has no prediction log yet; serve it and send requests first",
            field="model",
        )
    table = dataset.to_table(columns=["timestamp", "features", "version", "role"])
    if version is not None:
        table = table.filter(pc.equal(table.column("version"), version))
    table = table.filter(pc.not_equal(table.column("role"), "shadow"))
    inputs = table.column("features").combine_chunks()
    out = {"timestamp": table.column("timestamp")}
    for i, spec in enumerate(inputs.type):
        out[spec.name] = inputs.field(i)
    return pa.table(out)
