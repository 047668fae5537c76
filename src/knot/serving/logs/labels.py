"""The label log: ground truth that arrives after the prediction (delayed feedback),
joined to the prediction log on (request_id, row).

Files are ROOT/labels/model=NAME/date=YYYY-MM-DD/part-*.parquet (ROOT is the prediction
log's folder) with columns request_id (string), row (int32), label (string: the JSON
encoding of the value) and timestamp (ms, UTC: when the label arrived). Each call writes
one file and fsyncs it and its folder before returning, so an acknowledged label
survives a crash. Labels are never rewritten: a later label for the same (request_id,
row) wins, and readers dedupe by keeping the newest timestamp (ties: the later file,
whose name sorts later) per key, as `latest_labels` does.

With a shared log store (knot.serving.logs.shared: S3) the file is an object
labels/model=NAME/date=D/part-*.parquet there instead, and S3's answer to its PUT is
what makes it durable: `write_labels` returns (and /feedback answers 200) after it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from knot.artifacts import fsync_dir
from knot.errors import Invalid
from knot.refs import check_model_name
from knot.serving.bodies import BadRequest
from knot.serving.logs.label_checks import Label
from knot.serving.logs.predictions import default_log_dir
from knot.serving.logs.shared import mkdirs_durably

if TYPE_CHECKING:
    from knot.serving.logs.shared import LogStore

__all__ = [
    "append_labels",
    "label_dataset",
    "labels_dir",
    "labels_from_body",
    "latest_labels",
    "parse_labels",
    "write_labels",
]

_seq = itertools.count()


def labels_dir(model: str, root: Path | None = None) -> Path:
    return (root or default_log_dir()) / "labels" / f"model={check_model_name(model)}"


def _bad(i: int, name: str, why: str) -> Invalid:
    return Invalid(f"labels[{i}].{name} {why}", field=f"labels.{i}.{name}")


def parse_labels(labels: object) -> list[Label]:
    """Each label's request_id, row, value and JSON text; Invalid names the first bad
    field (checking them against the requests they are for is knot.serving.logs.label_checks)."""
    if not isinstance(labels, Sequence) or isinstance(labels, str | bytes):
        raise Invalid(
            'labels must be a list such as [{"request_id": "...", "row": 0, "label": 1}]',
            field="labels",
        )
    if not labels:
        raise Invalid("labels is empty; send at least one label", field="labels")
    out: list[Label] = []
    for i, item in enumerate(labels):
        if not isinstance(item, Mapping):
            raise Invalid(
                f'labels[{i}] is {type(item).__name__}, not an object {{"request_id": ..., '
                '"label": ...}',
                field=f"labels.{i}",
            )
        extra = sorted(set(item) - {"request_id", "row", "label"})
        if extra:
            raise _bad(i, str(extra[0]), "is not a label field; give request_id, row and label")
        request_id = item.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise _bad(i, "request_id", f"is {request_id!r}; give the id a prediction answered")
        row = item.get("row", 0)
        if type(row) is float and row.is_integer() and abs(row) < 2**53:
            row = int(row)  # 3.0 is the integer 3 in JSON
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < 2**31:
            raise _bad(i, "row", f"is {row!r}; give the input row's index (0 for the first)")
        if item.get("label") is None:
            said = "is missing" if "label" not in item else "is null"
            raise _bad(i, "label", f"{said}; give the true value for that row")
        value = item["label"]
        try:
            text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        except TypeError as exc:
            raise _bad(i, "label", f"cannot be stored as JSON ({exc})") from None
        out.append(Label(request_id, row, value, text))
    return out


def labels_from_body(content_type: str, body: bytes) -> Any:
    """The "labels" list of a POST /feedback body (checked by append_labels)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise BadRequest(
            f"content type {content_type or '(none)'!r} is not supported; send "
            'application/json: {"labels": [{"request_id": "...", "row": 0, "label": 1}]}',
            status_code=415,
            field="content-type",
        )
    if not body:
        raise BadRequest('the request body is empty; send {"labels": [...]}')
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "labels" not in doc:
        raise Invalid(
            'the JSON body needs a "labels" field: [{"request_id": "...", "row": 0, '
            '"label": 1}, ...]',
            field="labels",
        )
    extra = sorted(set(doc) - {"labels"})
    if extra:
        raise Invalid(f"field {extra[0]!r} is not part of a feedback body", field=extra[0])
    return doc["labels"]


def append_labels(model: str, labels: Sequence[Mapping[str, Any]], root: Path | None = None) -> int:
    """Store `labels` ({"request_id", "row" (default 0), "label"}) for `model`'s
    predictions as they are, unchecked against the prediction log (`knot.feedback` and
    POST /feedback check them first); returns how many. Durable when it returns; nothing
    is written if any label is malformed."""
    return write_labels(model, parse_labels(labels), root)


def write_labels(
    model: str, rows: Sequence[Label], root: Path | None = None, store: LogStore | None = None
) -> int:
    """Write parsed labels in one file, durable before returning: PUT to `store` (by
    default the shared log store when `root` is None and one is set), else fsynced with
    its folder under `root` (default: where logs go locally)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from knot.serving.logs.mirror import local_root, shared_store
    from knot.serving.logs.shared import replica_id

    if store is None and root is None:
        store = shared_store()
        root = local_root() if store is None else None

    at = time.time_ns()
    table = pa.table(
        {
            "request_id": pa.array([r.request_id for r in rows], pa.string()),
            "row": pa.array([r.row for r in rows], pa.int32()),
            "label": pa.array([r.text for r in rows], pa.string()),
            "timestamp": pa.array([at // 1_000_000] * len(rows), pa.timestamp("ms", tz="UTC")),
        }
    )
    day = dt.datetime.fromtimestamp(at / 1e9, dt.UTC).date().isoformat()
    if store is not None:
        name = f"part-{at:020d}-{replica_id()}-{os.getpid()}-{next(_seq):06d}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        key = f"labels/model={check_model_name(model)}/date={day}/{name}"
        store.put(key, sink.getvalue().to_pybytes())
        return len(rows)
    folder = labels_dir(model, root) / f"date={day}"
    mkdirs_durably(folder)
    name = f"part-{at:020d}-{os.getpid()}-{next(_seq):06d}.parquet"
    tmp = folder / f".{name}.tmp"  # dot files are skipped by readers
    with open(tmp, "wb") as handle:
        pq.write_table(table, handle)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.rename(folder / name)
    fsync_dir(folder)
    return len(rows)


def _files(model: str, root: Path) -> list[Path]:
    from knot.serving.logs.merged import live_files

    found = live_files(labels_dir(model, root).glob("date=*/part-*.parquet"))
    return sorted(found, key=lambda p: (p.parent.name, p.name))


def label_dataset(model: str, root: Path | None = None) -> Any:
    """Every label stored for `model` (duplicates included) as a pyarrow Dataset with
    the partition column `date` (date32), or None when there are none."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from knot.serving.logs.mirror import readable_root

    root = readable_root(model, root)
    files = _files(model, root)
    if not files:
        return None
    keys = pa.schema([("date", pa.date32())])
    return ds.dataset(
        [str(f) for f in files],
        format="parquet",
        partitioning=ds.partitioning(keys, flavor="hive"),
        partition_base_dir=str(labels_dir(model, root)),
    )


def latest_labels(model: str, root: Path | None = None) -> Any:
    """One label per (request_id, row): the latest to arrive. A pyarrow Table with the
    columns request_id, row, label, timestamp (empty when no label is stored)."""
    import pyarrow as pa

    columns = ["request_id", "row", "label", "timestamp"]
    dataset = label_dataset(model, root)
    if dataset is None:
        return pa.schema(
            [
                ("request_id", pa.string()),
                ("row", pa.int32()),
                ("label", pa.string()),
                ("timestamp", pa.timestamp("ms", tz="UTC")),
            ]
        ).empty_table()
    # to_table keeps the files' order (which is arrival order); a stable sort keeps ties in it
    frame = dataset.to_table(columns=columns).to_pandas()
    frame = frame.sort_values("timestamp", kind="stable")
    latest = frame.drop_duplicates(["request_id", "row"], keep="last")
    return pa.Table.from_pandas(latest.sort_index(), preserve_index=False)
