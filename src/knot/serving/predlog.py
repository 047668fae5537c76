"""The prediction log: every answered row (or a sample of requests) written to Parquet by
a background thread, never on the response's path.

Files land under ROOT/model=NAME/version=V/date=YYYY-MM-DD/ (hive partitions), one row
per input row: request_id, row, timestamp (ms), model, version, digest, role
(champion, challenger or shadow), inputs and prediction as JSON. Labels that arrive
later join on (request_id, row). `close` writes what is buffered.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from knot.serving.columns import TENSOR, Columns
from knot.serving.sources import ServedModel

__all__ = ["PredictionLog", "default_log_dir", "read_prediction_log"]

log = logging.getLogger("knot.serving")


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
    ) -> None:
        self.root = root
        self._sample = sample
        self._flush_rows = flush_rows
        self._flush_seconds = flush_seconds
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
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
        self._queue.put(_Entry(request_id, at, served, role, columns, predictions))

    def close(self) -> None:
        """Write everything queued and stop the writer."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        buffer: list[_Entry] = []
        rows = 0
        deadline = time.monotonic() + self._flush_seconds
        while True:
            try:
                entry = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                entry = _TICK
            if entry is None:
                self._write(buffer)
                return
            if entry is not _TICK:
                buffer.append(entry)
                rows += len(entry.predictions)
            if rows >= self._flush_rows or time.monotonic() >= deadline:
                self._write(buffer)
                buffer, rows = [], 0
                deadline = time.monotonic() + self._flush_seconds

    def _write(self, entries: list[_Entry]) -> None:
        if not entries:
            return
        groups: dict[tuple[str, int, str], list[_Entry]] = {}
        for e in entries:
            day = dt.datetime.fromtimestamp(e.at / 1000, dt.UTC).date().isoformat()
            groups.setdefault((e.served.name, e.served.version, day), []).append(e)
        for (name, version, day), group in groups.items():
            try:
                self._write_group(name, version, day, group)
            except Exception:  # a full disk must not take the service down
                log.exception("could not write %d prediction log entries", len(group))

    def _write_group(self, name: str, version: int, day: str, group: list[_Entry]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: dict[str, list[Any]] = {
            k: []
            for k in ("request_id", "row", "timestamp", "digest", "role", "inputs", "prediction")
        }
        for e in group:
            inputs = _rows(e.columns)
            for i, (row, pred) in enumerate(zip(inputs, e.predictions.tolist(), strict=True)):
                cols["request_id"].append(e.request_id)
                cols["row"].append(i)
                cols["timestamp"].append(e.at)
                cols["digest"].append(e.served.digest)
                cols["role"].append(e.role)
                cols["inputs"].append(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY).decode())
                cols["prediction"].append(orjson.dumps(pred).decode())
        table = pa.table(
            {
                **{k: v for k, v in cols.items() if k != "timestamp"},
                "timestamp": pa.array(cols["timestamp"], pa.timestamp("ms", tz="UTC")),
            }
        )
        folder = self.root / f"model={name}" / f"version={version}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        part = folder / f"part-{os.getpid()}-{time.time_ns()}-{self._seq}.parquet"
        tmp = folder / f".{part.name}.tmp"  # dot files are skipped by readers
        pq.write_table(table, tmp)
        tmp.rename(part)


_TICK: Any = object()


def _rows(columns: Columns) -> list[Any]:
    if TENSOR in columns:
        return list(columns[TENSOR].tolist())
    names = list(columns)
    values = [columns[n].tolist() for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def read_prediction_log(model: str | None = None, root: Path | None = None) -> Any:
    """The logged predictions (of `model`, or all) as a pandas DataFrame, with the
    partition columns model, version and date."""
    import pandas as pd
    import pyarrow.dataset as ds

    base = root or default_log_dir()
    folder = base / f"model={model}" if model else base
    if not folder.is_dir():
        return pd.DataFrame(
            columns=["request_id", "row", "timestamp", "digest", "role", "inputs", "prediction"]
        )
    dataset = ds.dataset(folder, format="parquet", partitioning="hive")
    frame = dataset.to_table().to_pandas()
    if model:
        frame["model"] = model
    return frame.sort_values(["timestamp", "request_id", "row"], ignore_index=True)
