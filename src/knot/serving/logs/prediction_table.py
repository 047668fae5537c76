"""The typed Arrow table of the prediction log: one row per predicted input row.

`features` is a struct of the signature's columns with their Arrow types (a tensor
model's rows are list<double>), `prediction` is double, int64, bool or string as the
model answered, and `score` is the positive-class probability of a binary classifier
with predict_proba (null otherwise). Scores are computed here, on the log's background
thread, never on the response's path. pyarrow is imported by that thread when it first
writes, not by the service's start (which it would slow by about 0.1 s and 30 MiB).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from knot.serving.columns import TENSOR, Columns, model_input, row_count
from knot.serving.sources import ServedModel

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Scorer", "features_array", "positive_scores", "prediction_array"]

log = logging.getLogger("knot.serving")


def _json_strings(values: Any) -> pa.Array:
    import pyarrow as pa

    return pa.array(
        [
            v if isinstance(v, str) else orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode()
            for v in values
        ],
        pa.string(),
    )


def _column(values: np.ndarray) -> pa.Array:
    import pyarrow as pa

    if values.dtype.kind in "fiub":
        return pa.array(values)
    if values.dtype.kind == "U":
        return pa.array(values.astype(object), pa.string())
    try:
        return pa.array(values.tolist())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed values: keep them as JSON text
        return _json_strings(values.tolist())


def features_array(columns: Columns) -> pa.Array:
    """The input rows: a struct of the columns, or list<double> rows of a tensor."""
    import pyarrow as pa

    if TENSOR in columns:
        rows = np.asarray(columns[TENSOR], dtype=np.float64)
        n, width = len(rows), int(np.prod(rows.shape[1:]))
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * width)
        return pa.ListArray.from_arrays(offsets, pa.array(rows.reshape(n, width).ravel()))
    names = list(columns)
    return pa.StructArray.from_arrays([_column(columns[n]) for n in names], names=names)


def prediction_array(predictions: np.ndarray) -> pa.Array:
    """Predictions typed as the model gave them (double, int64, bool or string)."""
    import pyarrow as pa

    a = np.asarray(predictions)
    if a.ndim == 1:
        if a.dtype.kind == "f":
            return pa.array(a.astype(np.float64, copy=False))
        if a.dtype.kind in "iu":
            return pa.array(a.astype(np.int64, copy=False))
        if a.dtype.kind == "b":
            return pa.array(a)
        return _json_strings(a.tolist())
    return _json_strings(a.tolist())  # several outputs per row: one JSON list each


class Scorer:
    """Positive-class probabilities of binary classifiers, remembering (by digest) the
    models that have none, so they are asked once."""

    def __init__(self) -> None:
        self._without: set[str] = set()

    def __call__(self, served: ServedModel, columns: Columns) -> np.ndarray | None:
        if served.digest in self._without:
            return None
        scores = positive_scores(served, columns)
        if scores is None:
            self._without.add(served.digest)
        return scores


def positive_scores(served: ServedModel, columns: Columns) -> np.ndarray | None:
    """predict_proba's second column for a two-class model, else None."""
    proba = getattr(served.model.model, "predict_proba", None)
    if not callable(proba):
        return None
    rows = row_count(columns)
    try:
        # the 2-D block the prediction itself was made from, when the model takes one
        given = model_input(served.signature, columns, as_array=served.takes_array)
        out = np.asarray(proba(given), dtype=np.float64)
    except Exception as exc:  # a model that cannot score must not stop the log
        log.warning("no scores from %s: predict_proba raised %s", served.label, exc)
        return None
    if out.ndim != 2 or out.shape != (rows, 2):
        return None
    return out[:, 1]
