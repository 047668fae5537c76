"""The prediction log: every answered row (or a sample of requests) written to Parquet by
a background thread, never on the response's path.

Files land under ROOT/model=NAME/version=V/date=YYYY-MM-DD/ (hive partitions), one row
per input row: request_id, row (int32), timestamp (ms, UTC), digest, role (champion,
challenger or shadow), features (a struct of the signature's columns with their Arrow
types, list<double> for a tensor model), prediction (typed) and score (the positive
class's probability of a binary classifier, else null; see knot.serving.logs.prediction_table).
Labels that arrive later join on (request_id, row) (knot.serving.logs.labels). The same
thread gives each written batch to the service's monitor plugins. `close` writes what
is buffered.

With a shared log store (knot.serving.logs.shared: S3), each flush is one object
model=NAME/version=V/date=D/part-<ns>-<replica>-<pid>-<seq>.parquet in it instead, so
every replica writes its own parts and none overwrites another's.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knot.refs import check_model_name
from knot.serving.columns import Columns, concat, row_count
from knot.serving.logs.prediction_table import Scorer, features_array, prediction_array
from knot.serving.plugins import ObservedBatch, ServicePlugin, notify
from knot.serving.sources import ServedModel

if TYPE_CHECKING:
    from knot.serving.logs.shared import LogStore

__all__ = [
    "LOG_COLUMNS",
    "PredictionLog",
    "default_log_dir",
    "prediction_log_dataset",
    "read_prediction_log",
]

log = logging.getLogger("knot.serving")
LOG_COLUMNS = (
    "request_id",
    "row",
    "timestamp",
    "digest",
    "role",
    "features",
    "prediction",
    "score",
)


def default_log_dir() -> Path:
    from knot.config import settings

    return settings().home / "predictions"


@dataclass(frozen=True)
class _Entry:
    request_id: str
    at: int
    served: ServedModel
    role: str
    columns: Columns
    predictions: np.ndarray


class PredictionLog:
    def __init__(
        self,
        root: Path,
        *,
        sample: float = 1.0,
        flush_rows: int = 5000,
        flush_seconds: float = 1.0,
        plugins: Sequence[ServicePlugin] = (),
        store: LogStore | None = None,
        replica: str = "",
    ) -> None:
        self.root = root
        self._store = store  # a shared store: parts go there, named with `replica`
        self._replica = replica
        self._sample = sample
        self._flush_rows = flush_rows
        self._flush_seconds = flush_seconds
        self._plugins = list(plugins)
        self._scores = Scorer()
        # Requests append here without waking the writer (a wake-up per request costs the
        # event loop a thread switch); it wakes every flush_seconds, or at once when
        # flush_rows rows are waiting, or for a flush or close.
        self._queue: collections.deque[_Entry | _Flush | None] = collections.deque()
        self._waiting_rows = 0
        self._wake = threading.Event()
        self._seq = 0
        self._thread = threading.Thread(target=self._run, name="knot-prediction-log", daemon=True)
        self._thread.start()

    def add(
        self,
        request_id: str,
        served: ServedModel,
        role: str,
        columns: Columns,
        predictions: np.ndarray,
    ) -> None:
        """Queue one request's rows (kept with probability `sample`); returns at once."""
        if self._sample < 1.0 and random.random() >= self._sample:
            return
        at = time.time_ns() // 1_000_000
        self._queue.append(_Entry(request_id, at, served, role, columns, predictions))
        self._waiting_rows += len(predictions)  # a hint for when to wake: races are harmless
        if self._waiting_rows >= self._flush_rows:
            self._wake.set()

    def flush(self) -> None:
        """Write what was queued before this call; returns once it is written (PUT to a
        shared store, or renamed into place): /feedback calls it so that a prediction
        whose label is acknowledged is never lost with the process."""
        done = threading.Event()
        self._queue.append(_Flush(done))
        self._wake.set()
        while not done.wait(0.5):
            if not self._thread.is_alive():  # closed: everything was written
                return

    def close(self) -> None:
        """Write everything queued and stop the writer."""
        self._queue.append(None)
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        buffer: list[_Entry] = []
        rows = 0
        deadline = time.monotonic() + self._flush_seconds
        while True:
            self._wake.wait(timeout=max(0.0, deadline - time.monotonic()))
            self._wake.clear()
            self._waiting_rows = 0
            while self._queue:
                entry = self._queue.popleft()
                if entry is None:
                    self._write(buffer)
                    return
                if isinstance(entry, _Flush):
                    self._write(buffer)
                    buffer, rows = [], 0
                    entry.done.set()
                    continue
                buffer.append(entry)
                rows += len(entry.predictions)
                if rows >= self._flush_rows:
                    self._write(buffer)
                    buffer, rows = [], 0
                    deadline = time.monotonic() + self._flush_seconds
            if time.monotonic() >= deadline:
                self._write(buffer)
                buffer, rows = [], 0
                deadline = time.monotonic() + self._flush_seconds

    def _write(self, entries: list[_Entry]) -> None:
        # One batch per model version, role and set of columns: concatenated, scored
        # with one predict_proba call, written, then shown to the plugins.
        groups: dict[tuple[str, int, str, str, tuple[str, ...]], list[_Entry]] = {}
        for e in entries:
            key = (e.served.name, e.served.version, e.served.digest, e.role, tuple(e.columns))
            groups.setdefault(key, []).append(e)
        for group in groups.values():
            try:
                batch = _batch(group)
                scores = self._scores(batch.served, batch.columns)
                self._write_batch(
                    batch, [e.at for e in group], [len(e.predictions) for e in group], scores
                )
            except Exception:  # a full disk must not take the service down
                log.exception("could not write %d prediction log entries", len(group))
                continue
            if self._plugins:
                notify(self._plugins, replace(batch, scores=scores))

    def _write_batch(
        self, batch: ObservedBatch, ats: list[int], sizes: list[int], scores: np.ndarray | None
    ) -> None:
        import pyarrow as pa

        n = len(batch.predictions)
        rows = np.concatenate([np.arange(k, dtype=np.int32) for k in sizes])
        stamps = np.repeat(np.asarray(ats, dtype=np.int64), sizes)
        table = pa.table(
            {
                "request_id": pa.array(batch.request_ids, pa.string()),
                "row": pa.array(rows, pa.int32()),
                "timestamp": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
                "digest": pa.array([batch.served.digest] * n, pa.string()),
                "role": pa.array([batch.role] * n, pa.string()),
                "features": features_array(batch.columns),
                "prediction": prediction_array(batch.predictions),
                "score": pa.array(scores, pa.float64())
                if scores is not None
                else pa.nulls(n, pa.float64()),
            }
        )
        days = [dt.datetime.fromtimestamp(at / 1000, dt.UTC).date().isoformat() for at in ats]
        for day in sorted(set(days)):  # a batch written across midnight: one file per day
            mask = np.repeat(np.asarray([d == day for d in days]), sizes)
            part = table if len(set(days)) == 1 else table.filter(pa.array(mask))
            self._write_file(batch.served, day, part)

    def _write_file(self, served: ServedModel, day: str, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._store is not None:
            self._seq += 1
            name = f"part-{time.time_ns():020d}-{self._replica}-{os.getpid()}-{self._seq:06d}"
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            folder_key = f"model={check_model_name(served.name)}/version={served.version}"
            key = f"{folder_key}/date={day}/{name}.parquet"
            self._store.put(key, sink.getvalue().to_pybytes())
            return
        folder = self.root / f"model={served.name}" / f"version={served.version}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        part = folder / f"part-{os.getpid()}-{time.time_ns()}-{self._seq}.parquet"
        tmp = folder / f".{part.name}.tmp"  # dot files are skipped by readers
        pq.write_table(table, tmp)
        tmp.rename(part)


@dataclass(frozen=True)
class _Flush:
    done: threading.Event


def _batch(group: list[_Entry]) -> ObservedBatch:
    first = group[0]
    ids = [e.request_id for e in group for _ in range(row_count(e.columns))]
    columns = concat([e.columns for e in group])
    predictions = np.concatenate([np.asarray(e.predictions) for e in group])
    return ObservedBatch(first.served, first.role, columns, predictions, ids)


def prediction_log_dataset(model: str, root: Path | None = None) -> Any:
    """The prediction log of `model` as a pyarrow Dataset (None when nothing is logged),
    for scanners and DuckDB windows that need not load it whole. Partition columns
    `version` (int32) and `date` (date32) come with it; each version's schema is unified
    with the others' (an int prediction next to a float one reads as double). The files
    are the ones present now: open it again to see later writes."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from knot.serving.logs.merged import live_files
    from knot.serving.logs.mirror import readable_root

    folder = readable_root(model, root) / f"model={check_model_name(model)}"
    files = live_files(folder.glob("version=*/date=*/part-*.parquet"))
    if not files:
        return None
    first_per_version: dict[str, Path] = {}
    for f in files:
        first_per_version.setdefault(f.parent.parent.name, f)
    schemas = [pq.read_schema(f) for f in first_per_version.values()]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    keys = pa.schema([("version", pa.int32()), ("date", pa.date32())])
    return ds.dataset(
        [str(f) for f in files],
        schema=pa.schema([*schema, *keys]),
        format="parquet",
        partitioning=ds.partitioning(keys, flavor="hive"),
        partition_base_dir=str(folder),
    )


def read_prediction_log(model: str | None = None, root: Path | None = None) -> Any:
    """The logged predictions (of `model`, or of every model) as a pandas DataFrame, with
    the columns model, version and date; `features` holds one dict of inputs per row."""
    import pandas as pd

    from knot.serving.logs.mirror import logged_models

    names = [model] if model else logged_models(root)
    frames = []
    for name in names:
        dataset = prediction_log_dataset(name, root)
        if dataset is not None:
            frames.append(dataset.to_table().to_pandas().assign(model=name))
    if not frames:
        return pd.DataFrame(columns=[*LOG_COLUMNS, "version", "date", "model"])
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values(["timestamp", "request_id", "row"], ignore_index=True)
