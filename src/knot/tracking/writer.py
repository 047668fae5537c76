"""The background writer: the training loop appends to a buffer, one thread writes batches.

A call such as log_metric only appends a tuple under a lock. The writer thread
takes everything pending when the buffer reaches `max_batch` items, when
`interval` seconds pass, or when someone calls flush(), and writes it with one
store.log_batch (one transaction locally, one HTTP request remotely). flush()
returns only when everything appended before it is durable.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref

from knot.errors import KnotError, Unavailable
from knot.store.entities import Batch, NewRun
from knot.store.protocol import TrackingStore

__all__ = ["BatchWriter"]

log = logging.getLogger("knot.writer")
_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


class BatchWriter:
    def __init__(
        self,
        store: TrackingStore,
        *,
        max_batch: int = 20_000,
        interval: float = 1.0,
        max_pending: int = 1_000_000,
        retries: int = 5,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.interval = interval
        self.max_pending = max_pending
        self.retries = retries
        self._cond = threading.Condition()
        # Held for every store write, taken before the buffer is swapped, so batches
        # reach the store in the order they were logged (tags are last-write-wins).
        self._write_lock = threading.Lock()
        self._pending = Batch()
        self._appended = 0  # items ever appended
        self._written = 0  # items ever written (or dropped after an error)
        self._closed = False
        self._error: KnotError | None = None
        self._thread: threading.Thread | None = None
        _writers.add(self)

    # producer side -----------------------------------------------------------
    def add_metrics(self, points: list[tuple[str, str, float, int, int]]) -> None:
        with self._cond:
            self._pending.metrics.extend(points)
            self._after_append(len(points))

    def add_metric(self, run_id: str, key: str, value: float, step: int, ts: int) -> None:
        with self._cond:
            self._pending.metrics.append((run_id, key, value, step, ts))
            self._after_append(1)

    def add_params(self, items: list[tuple[str, str, str]]) -> None:
        with self._cond:
            self._pending.params.extend(items)
            self._after_append(len(items))

    def add_tags(self, items: list[tuple[str, str, str]]) -> None:
        with self._cond:
            self._pending.tags.extend(items)
            self._after_append(len(items))

    def add_start(self, new: NewRun) -> None:
        with self._cond:
            self._pending.starts.append(new)
            self._after_append(1)

    def add_end(self, run_id: str, status: str, end_time: int) -> None:
        with self._cond:
            self._pending.ends.append((run_id, status, end_time))
            self._after_append(1)

    def _after_append(self, n: int) -> None:
        # called with the lock held
        if self._closed:
            raise KnotError("the metric writer is closed; start a new run to log more")
        self._appended += n
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="knot-writer", daemon=True)
            self._thread.start()
        pending = self._appended - self._written
        if pending >= self.max_batch:
            self._cond.notify_all()
        while self._appended - self._written > self.max_pending and self._error is None:
            # back-pressure: the loop produces faster than the store can write
            self._cond.wait(0.1)

    # durability ----------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> None:
        """Block until everything appended so far is written; re-raise a writer error.

        The caller writes what is pending itself, under the write lock: once it holds
        the lock, any batch the writer thread had taken is already committed, so
        there is no hand-off to wait for and no second transaction.
        """
        with self._cond:
            target = self._appended
        if not self._write_lock.acquire(timeout=-1 if timeout is None else timeout):
            with self._cond:
                left = target - self._written
            raise Unavailable(
                f"flush timed out after {timeout}s with {left} items unwritten to {self.store.uri}"
            )
        try:
            with self._cond:
                behind = self._written < target
            if behind:
                self._take_and_write()
        finally:
            self._write_lock.release()
        with self._cond:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            if self._thread is not None:
                self._thread.join(timeout=5)

    # writer thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._appended - self._written >= self.max_batch:
                        break
                    if not self._cond.wait(self.interval) and len(self._pending):
                        break
                if self._closed and not len(self._pending):
                    return
            with self._write_lock:
                self._take_and_write()

    def _take_and_write(self) -> None:
        # called with the write lock held
        with self._cond:
            batch, self._pending = self._pending, Batch()
        if len(batch):
            self._write(batch)
        with self._cond:
            self._written += len(batch)
            self._cond.notify_all()

    def _write(self, batch: Batch) -> None:
        delay = 0.05
        for attempt in range(self.retries + 1):
            try:
                self.store.log_batch(batch)
                return
            except Unavailable as exc:
                if attempt == self.retries:
                    self._fail(exc, batch)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except KnotError as exc:
                self._fail(exc, batch)
                return
            except Exception as exc:  # a driver error we did not map: keep the thread alive
                self._fail(KnotError(f"writing to {self.store.uri} failed: {exc}"), batch)
                return

    def _fail(self, exc: KnotError, batch: Batch) -> None:
        log.error("knot: %d logged items were not written: %s", len(batch), exc.message)
        with self._cond:
            self._error = exc


@atexit.register
def _flush_all_at_exit() -> None:
    for writer in list(_writers):
        try:
            writer.flush(timeout=60)
        except KnotError as exc:
            log.error("knot: could not flush at exit: %s", exc.message)
