"""Labels are checked against the request they are for before anything is stored: the
request id must be one the model answered, the row one of its rows, and the label of
the kind its predictions were (a number for a regressor, a string for a classifier whose
classes are strings, ...). A refused label is a 4xx naming labels.N.FIELD (404 for a
request id nobody answered or a row it did not have, 422 for a label of the wrong kind);
a body with one refused label stores nothing.

Where the answered requests are known from: the service's own memory of what it answered
lately (`RecentRequests`), then the prediction log on disk (or this process's copy of a
shared log store's, knot.serving.logs.mirror), which holds what every worker, every
replica and every earlier run of the service answered (sampled with --log-sample: a
request that was not logged can get no label, as a label could never be joined to it).
A worker writes its log every second or so, so a label for a request another worker (or
replica) answered a moment ago can arrive first; `find_answered` then looks again at
the files written since, for a few seconds, before it refuses.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from knot.errors import Invalid, NotFound

__all__ = [
    "LABEL_SCHEMAS",
    "Answered",
    "Label",
    "LogScan",
    "RecentRequests",
    "check_labels",
    "find_answered",
    "label_kind",
]

#: how long a label for a request nobody seems to have answered waits for the other
#: workers' prediction logs to be written (they write every second)
SIBLING_WAIT_S = 5.0
_NOUN = {
    "number": "numeric",
    "integer": "whole-number",
    "boolean": "true/false",
    "string": "string",
}
_PHRASE = {
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "string": "a string",
}


class Label(NamedTuple):
    """One label of a feedback body, checked for shape (knot.serving.logs.labels.parse_labels)."""

    request_id: str
    row: int
    value: Any
    text: str  # the value as JSON, as stored


@dataclass(frozen=True)
class Answered:
    """What a label for a request must fit: the request's row count and the kind of its
    predictions ("number", "integer", "boolean", "string"; "any" when they were none of
    these, e.g. lists)."""

    rows: int
    kind: str


def label_kind(predictions: np.ndarray) -> str:
    """The kind of label that fits `predictions` (the values a model answered)."""
    code: str = predictions.dtype.kind
    if code == "O" and len(predictions):
        first = predictions.flat[0]
        code = {str: "U", bool: "b", int: "i", float: "f"}.get(type(first), "O")
    return {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "U": "string"}.get(
        code, "any"
    )


def _arrow_kind(dtype: Any) -> str:
    import pyarrow as pa

    if pa.types.is_floating(dtype):
        return "number"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    return "any"


class RecentRequests:
    """The requests one worker answered lately: request id -> Answered, the newest
    `limit` of them (a request id sent twice keeps its latest answer)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._answered: OrderedDict[str, Answered] = OrderedDict()

    def add(self, request_id: str, rows: int, predictions: np.ndarray) -> None:
        self._answered[request_id] = Answered(rows, label_kind(predictions))
        self._answered.move_to_end(request_id)
        if len(self._answered) > self._limit:
            self._answered.popitem(last=False)

    def get(self, request_id: str) -> Answered | None:
        return self._answered.get(request_id)


class LogScan:
    """Looks request ids up in a model's prediction log, each file at most once: a later
    `find` reads only the files written since the last one. `refresh` (when given) brings
    `root` up to date first: the local copy of a shared log (knot.serving.logs.mirror)."""

    def __init__(self, model: str, root: Path, refresh: Callable[[], object] | None = None) -> None:
        self.folder = root / f"model={model}"
        self._refresh = refresh
        self._seen: set[Path] = set()

    def find(self, ids: Iterable[str]) -> dict[str, Answered]:
        ids = list(ids)
        for _ in range(3):
            try:
                return self._find(ids)
            except FileNotFoundError:
                continue  # a part was compacted away (or its copy dropped) meanwhile
        return self._find(ids)

    def _find(self, ids: Iterable[str]) -> dict[str, Answered]:
        import pyarrow.dataset as ds

        from knot.serving.logs.merged import live_files

        if self._refresh is not None:
            self._refresh()
        wanted = sorted(set(ids))
        present = live_files(self.folder.glob("version=*/date=*/part-*.parquet"))
        files = [f for f in present if f not in self._seen]
        by_version: dict[str, list[str]] = {}
        for f in files:
            by_version.setdefault(f.parent.parent.name, []).append(str(f))
        found: dict[str, Answered] = {}
        for paths in by_version.values():
            dataset = ds.dataset(sorted(paths), format="parquet")
            table = dataset.to_table(
                columns=["request_id", "row"], filter=ds.field("request_id").isin(wanted)
            )
            if not table.num_rows:
                continue
            kind = _arrow_kind(dataset.schema.field("prediction").type)
            rows: dict[str, int] = {}
            for rid, row in zip(
                table.column("request_id").to_pylist(), table.column("row").to_pylist(), strict=True
            ):
                rows[rid] = max(rows.get(rid, 0), row + 1)
            for rid, n in rows.items():
                before = found.get(rid)
                found[rid] = Answered(max(n, before.rows if before else 0), kind)
        self._seen.update(files)  # only once read: a vanished file is looked for again
        return found


def find_answered(
    ids: Iterable[str],
    recent: RecentRequests | None,
    scan: LogScan,
    *,
    wait_s: float = 0.0,
) -> dict[str, Answered]:
    """The requests among `ids` that were answered: from `recent`, then the log; the
    ones still unknown are looked for again in new log files until `wait_s` passed."""
    wanted = set(ids)
    found: dict[str, Answered] = {}
    if recent is not None:
        for rid in wanted:
            answered = recent.get(rid)
            if answered is not None:
                found[rid] = answered
    deadline = time.monotonic() + wait_s
    while wanted - set(found):
        found.update(scan.find(wanted - set(found)))
        if not wanted - set(found) or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    return found


#: JSON Schema of a label of each kind, as /openapi.json documents it and `_fits` checks it
LABEL_SCHEMAS: dict[str, dict[str, Any]] = {
    "number": {"type": "number"},
    "integer": {"type": "integer", "minimum": -(2**63), "exclusiveMaximum": 2**63},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    "any": {"type": ["number", "string", "boolean", "array", "object"]},
}


def _fits(kind: str, value: Any) -> bool:
    if kind == "number":
        return type(value) in (int, float) and math.isfinite(value)
    if kind == "integer":
        if type(value) is float:  # a whole float, exactly so (JSON readers make big ones)
            return value.is_integer() and abs(value) <= 2**53
        return type(value) is int and -(2**63) <= value < 2**63
    if kind == "boolean":
        return type(value) is bool
    if kind == "string":
        return type(value) is str
    return True


def check_labels(model: str, labels: Sequence[Label], answered: dict[str, Answered]) -> None:
    """Raise Invalid naming the first label that does not fit the request it is for."""
    for i, label in enumerate(labels):
        request = answered.get(label.request_id)
        if request is None:
            raise NotFound(
                f"labels[{i}].request_id {label.request_id!r} is not a request model "
                f"{model!r} answered (nor one in its prediction log, which --log-sample may "
                "thin out); send the request_id a /predict answer gave",
                field=f"labels.{i}.request_id",
            )
        if label.row >= request.rows:
            rows = "row 0" if request.rows == 1 else f"rows 0 to {request.rows - 1}"
            raise NotFound(
                f"labels[{i}].row is {label.row}, but request {label.request_id!r} had "
                f"{request.rows} row(s): give one of {rows}",
                field=f"labels.{i}.row",
            )
        if not _fits(request.kind, label.value):
            shown = label.text if len(label.text) <= 60 else label.text[:57] + "..."
            raise Invalid(
                f"labels[{i}].label is {shown} ({type(label.value).__name__}); request "
                f"{label.request_id!r} was answered with {_NOUN[request.kind]} predictions, so "
                f"its label must be {_PHRASE[request.kind]}",
                field=f"labels.{i}.label",
            )
