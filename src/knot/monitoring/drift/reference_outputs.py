"""A model version's own outputs on its drift reference, what prediction drift compares
a window's logged outputs with: the `prediction` of every reference row, typed as the
serving prediction log types it, and the `score` (positive-class probability of a
binary classifier with predict_proba, null otherwise) computed as the log computes it.

Scoring runs once per (model version digest, reference URI, reference content digest)
and is cached as a small Parquet file under $KNOT_HOME/monitoring/reference-outputs/,
so `knot monitor watch` does not score the reference on every pass. The file records
its keys and row count; a file that cannot be read or does not match is scored again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from knot.errors import Invalid

__all__ = [
    "OUTPUTS",
    "cache_path",
    "comparable_outputs",
    "reference_outputs",
]

OUTPUTS = ("prediction", "score")
BATCH = 50_000  # rows per predict call; more than one batch shows a progress bar
_KEYS = (b"knot.model_digest", b"knot.reference", b"knot.reference_digest", b"knot.rows")


def reference_outputs(
    model: str,
    version: int,
    uri: str,
    reference: pa.Table,
    inputs: Sequence[str] | None = None,
) -> pa.Table:
    """Columns `prediction` and `score` of `model` version `version` on the rows of
    `reference` (read from `uri`), from the cache when it was scored before. The model
    takes its signature's input columns; `inputs` names them for a model logged without
    a signature (default: every reference column)."""
    from knot.registry.fluent import get_model_version

    digest = get_model_version(model, version).artifact_digest
    keys = (digest, uri, _content_digest(uri), str(reference.num_rows))
    path = cache_path(*keys[:3])
    cached = _read(path, keys)
    if cached is not None:
        return cached
    table = _score(model, version, digest, reference, inputs)
    _write(path, table, keys)
    return table


def cache_path(model_digest: str, uri: str, reference_digest: str) -> Path:
    """Where the outputs of the model with `model_digest` on reference `uri` are cached."""
    from knot.config import settings

    key = hashlib.sha256(f"{model_digest}\n{uri}\n{reference_digest}".encode()).hexdigest()
    return settings().home / "monitoring" / "reference-outputs" / f"{key[:40]}.parquet"


def comparable_outputs(table: pa.Table) -> pa.Table:
    """The outputs drift compares: a classifier's predictions (integers, booleans,
    text) as categories, a regressor's as numbers; `score` only when it has values."""
    out: dict[str, pa.ChunkedArray] = {}
    if "prediction" in table.column_names:
        prediction = table.column("prediction")
        t = prediction.type
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            out["prediction"] = pc.cast(prediction, pa.string())
        elif pa.types.is_floating(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
            out["prediction"] = prediction
    if "score" in table.column_names:
        score = table.column("score")
        if pa.types.is_floating(score.type) and score.null_count < len(score):
            out["score"] = score
    return pa.table(out) if out else pa.table({})


def _content_digest(uri: str) -> str:
    """The stored digest of a dataset reference (so an unversioned `dataset:NAME` that
    moves on to a new version is scored again); the URI itself otherwise."""
    from knot.monitoring.drift.samples import DATASET_SCHEME

    if not uri.startswith(DATASET_SCHEME):
        return uri
    from knot.tracking.datasets import get_dataset

    return get_dataset(uri[len(DATASET_SCHEME) :]).digest


def _score(
    model: str, version: int, digest: str, reference: pa.Table, inputs: Sequence[str] | None
) -> pa.Table:
    from knot.registry.fluent import load_model
    from knot.serving.columns import check_columns, model_input
    from knot.serving.logs.prediction_table import positive_scores, prediction_array
    from knot.serving.sources import ServedModel

    served = ServedModel(model, version, digest, load_model(f"models:/{model}/{version}"))
    signature = served.signature
    if signature is not None and signature.input_kind == "tensor":
        raise Invalid(
            f"{served.label} takes a tensor, which a reference table cannot give; prediction "
            "drift needs a model with named input columns",
            field="reference",
        )
    names = (
        [s.name for s in signature.inputs if s.name is not None]
        if signature is not None
        else list(inputs if inputs is not None else reference.column_names)
    )
    missing = [n for n in names if n not in reference.column_names]
    if missing:
        raise Invalid(
            f"the reference has no column {missing[0]!r}, which {served.label} takes; use a "
            "reference holding every input column (`reference:` in the monitor rules file)",
            field="reference",
        )
    predictions: list[np.ndarray] = []
    scores: list[np.ndarray] | None = []
    with _progress(reference.num_rows, f"scoring the reference with {served.label}") as advance:
        for start in range(0, reference.num_rows, BATCH):
            part = reference.slice(start, BATCH)
            columns = check_columns(
                signature, {n: part.column(n).to_numpy(zero_copy_only=False) for n in names}
            )
            predictions.append(
                np.asarray(served.model.model.predict(model_input(signature, columns)))
            )
            if scores is not None:
                found = positive_scores(served, columns)
                if found is None:
                    scores = None  # no predict_proba, or not two classes: no scores at all
                else:
                    scores.append(found)
            advance(part.num_rows)
    prediction = prediction_array(np.concatenate(predictions)) if predictions else pa.nulls(0)
    n = len(prediction)
    score = pa.array(np.concatenate(scores), pa.float64()) if scores else pa.nulls(n, pa.float64())
    return pa.table({"prediction": prediction, "score": score})


@contextmanager
def _progress(rows: int, what: str) -> Iterator[Callable[[int], None]]:
    """A transient Rich progress bar over rows, shown only for more than one batch."""
    if rows <= BATCH:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=rows)
        yield lambda n: bar.advance(task, n)


def _read(path: Path, keys: tuple[str, ...]) -> pa.Table | None:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):  # missing or unreadable: score again
        return None
    meta = table.schema.metadata or {}
    if tuple(meta.get(k, b"").decode() for k in _KEYS) != keys or table.num_rows != int(keys[3]):
        return None
    if table.column_names != list(OUTPUTS):
        return None
    return table.replace_schema_metadata(None)


def _write(path: Path, table: pa.Table, keys: tuple[str, ...]) -> None:
    """Written to a temporary file and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tagged = table.replace_schema_metadata(
        dict(zip(_KEYS, (k.encode() for k in keys), strict=True))
    )
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(tagged, temp)
    os.replace(temp, path)
