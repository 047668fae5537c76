"""A role's model (champion or challenger) and its adaptive micro-batcher.

Requests queue their checked columns; one worker task drains the queue into a single
`predict` call. While the model is busy the queue fills by itself, and when recent
batches held several requests the worker also waits `wait_s` for more, so concurrent
single rows share a call and a lone request goes straight through. The model runs on
one thread of its own, so the event loop keeps reading requests (and answering /health)
meanwhile; only a model that answers within INLINE_UNDER_S runs on the loop itself (a
lone request skipping the queue when the slot is idle and not batching). `served`
is swapped by assignment: a batch uses the model its requests were checked against.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knot.serving.columns import Columns, row_count
from knot.serving.inputs.array_input import batch_input
from knot.serving.metrics import ServiceMetrics
from knot.serving.sources import ServedModel

__all__ = ["ModelFailed", "Slot"]

log = logging.getLogger("knot.serving")
INLINE_UNDER_S = 0.002


class ModelFailed(Exception):
    """The model raised on one request's input. `by_input` when the error is one a model
    raises for values it cannot take (ValueError, TypeError, ...): the request is at
    fault, not the service; any other error is the model's own."""

    def __init__(self, message: str, *, by_input: bool) -> None:
        super().__init__(message)
        self.by_input = by_input


class _BadOutput(Exception):
    """The model answered, but not one prediction per row: the model's fault."""


# what models raise for inputs they cannot take (sklearn: ValueError "Input X contains
# NaN", pandas: KeyError, TypeError for values of another type, ZeroDivisionError ...)
_INPUT_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)


@dataclass
class _Item:
    served: ServedModel
    columns: Columns
    future: asyncio.Future[np.ndarray] = field(repr=False)


class Slot:
    def __init__(
        self,
        role: str,
        metrics: ServiceMetrics,
        *,
        max_batch_rows: int = 256,
        wait_s: float = 0.001,
    ) -> None:
        self.role = role
        self.served: ServedModel | None = None
        self._metrics = metrics
        self._max_rows = max_batch_rows
        self._wait_s = wait_s
        self._pending: list[_Item] = []
        self._wake = asyncio.Event()
        self._busy = False
        self._recent = 1.0  # moving average of requests per batch
        self._call_s: float | None = None  # moving average of a predict call's duration
        self._worker: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"knot-{role}")

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Answer what is queued, then stop the worker."""
        while self._pending or self._busy:
            await asyncio.sleep(0.005)
        if self._worker is not None:
            self._worker.cancel()
        self._thread.shutdown(wait=True)

    async def predict(self, served: ServedModel, columns: Columns) -> np.ndarray:
        """The predictions for `columns` (checked against `served`'s signature)."""
        if not self._pending and not self._busy and not self._batching() and self._fast():
            return self._now(served, columns)
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(served, columns, future))
        self._metrics.child(self._metrics.queue_depth, self.role).set(len(self._pending))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if self._batching() and self._rows() < self._max_rows:
                    await asyncio.sleep(self._wait_s)
                batch = self._take()
                self._metrics.child(self._metrics.queue_depth, self.role).set(len(self._pending))
                self._busy = True
                try:
                    await self._answer(batch)
                finally:
                    self._busy = False
                self._recent = 0.8 * self._recent + 0.2 * len(batch)

    def _batching(self) -> bool:
        """Recent batches held several requests: wait `wait_s` for more to join."""
        return self._recent > 1.5 and self._wait_s > 0

    def _fast(self) -> bool:
        return self._call_s is not None and self._call_s < INLINE_UNDER_S

    def _inline(self, batch: list[_Item]) -> bool:
        """A batch of several requests (at most max_batch_rows rows), or a lone one, for
        a model known to answer in well under a few milliseconds runs on the event loop:
        the thread hop would cost more than it saves (under load, a hop per batch of
        one-row requests took a tenth of the service's time)."""
        return self._fast() and (len(batch) > 1 or not self._pending)

    def _now(self, served: ServedModel, columns: Columns) -> np.ndarray:
        """A request to an idle slot of a fast model, answered at once: what the worker
        would do with it as a batch of one, without the queue and the task switches."""
        started = time.perf_counter()
        try:
            out = _call(served, [columns])
        except Exception as exc:
            raise _failed(exc) from None
        finally:
            self._recent = 0.8 * self._recent + 0.2
        self._answered(served, time.perf_counter() - started, len(out), 1)
        return out

    def _rows(self) -> int:
        return sum(row_count(i.columns) for i in self._pending)

    def _take(self) -> list[_Item]:
        first = self._pending[0].served
        batch: list[_Item] = []
        rows = 0
        rest: list[_Item] = []
        for item in self._pending:
            n = row_count(item.columns)
            if item.served is first and (not batch or rows + n <= self._max_rows):
                batch.append(item)
                rows += n
            else:
                rest.append(item)
        self._pending = rest
        return batch

    def _answered(self, served: ServedModel, took: float, rows: int, requests: int) -> None:
        self._call_s = took if self._call_s is None else 0.8 * self._call_s + 0.2 * took
        metrics, labels = self._metrics, (served.name, str(served.version))
        metrics.child(metrics.batch_rows, *labels).observe(rows)
        metrics.child(metrics.batch_requests, *labels).observe(requests)

    async def _answer(self, batch: list[_Item]) -> None:
        served = batch[0].served
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            parts = [i.columns for i in batch]
            if self._inline(batch):
                out = _call(served, parts)
            else:
                out = await loop.run_in_executor(self._thread, _call, served, parts)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            for item in batch:  # find the request(s) the model cannot take
                await self._answer([item])
            return
        self._answered(served, time.perf_counter() - started, len(out), len(batch))
        start = 0
        for item in batch:
            stop = start + row_count(item.columns)
            if not item.future.done():
                item.future.set_result(out[start:stop])
            start = stop


def _call(served: ServedModel, parts: list[Columns]) -> np.ndarray:
    """The model's predictions for the requests' columns `parts`, in one call."""
    given, rows = batch_input(served.signature, parts, as_array=served.takes_array)
    out: Any = served.model.model.predict(given)
    array = np.asarray(out)
    if array.ndim == 0 or len(array) != rows:
        raise _BadOutput(f"the model returned shape {list(array.shape)} for {rows} rows")
    return array


def _failed(exc: Exception) -> ModelFailed:
    return ModelFailed(f"{type(exc).__name__}: {exc}", by_input=isinstance(exc, _INPUT_ERRORS))


def _fail(item: _Item, exc: Exception) -> None:
    if not item.future.done():
        item.future.set_exception(_failed(exc))
