"""The background writer: the training loop appends to a buffer, one thread writes batches.

A call such as log_metric only appends a tuple under a lock. The writer thread takes
everything pending when the buffer reaches `max_batch` items, when `interval` seconds
pass, or when someone calls flush(), and writes it with one store.log_batch (one
transaction locally, one HTTP request remotely). Batches are numbered (writer_id, seq),
so the store writes each once however often it is delivered (knot.tracking.sql.replays).

When the store stays unreachable through `retries` quick retries (connection refused, a
timeout, a 5xx answer), batches go to a spool file (knot.tracking.buffer.spool) and the thread
retries with a pause that doubles up to `max_backoff` seconds; once the store answers,
spooled batches are sent in order, before newer ones. flush() returns when everything
appended before it is on the store or fsynced in the spool. It raises when the spool
cannot be written, and (once) when the store refused a batch as bad input: a 4xx answer
is never retried.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path

from knot.errors import KnotError, Unavailable
from knot.tracking.buffer.delivery import Delivery
from knot.tracking.buffer.spool import Spool
from knot.tracking.entities import Batch, NewRun
from knot.tracking.protocol import TrackingStore

__all__ = ["BatchWriter"]

log = logging.getLogger("knot.writer")
_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


class BatchWriter:
    def __init__(
        self,
        store: TrackingStore,
        *,
        spool_folder: Path | None = None,
        max_batch: int = 20_000,
        interval: float = 1.0,
        max_pending: int = 1_000_000,
        retries: int = 5,
        max_backoff: float = 15.0,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.interval = interval
        self.max_pending = max_pending
        self.retries = retries
        self.max_backoff = max_backoff
        self.writer_id = uuid.uuid4().hex
        #: without a folder nothing is spooled: a batch the store cannot take is dropped
        self.spool = Spool(spool_folder, self.writer_id) if spool_folder is not None else None
        self._delivery = Delivery(
            store, self.spool, self.writer_id, retries=retries, max_backoff=max_backoff
        )
        lock = threading.RLock()
        self._cond = threading.Condition(lock)  # the thread waits here: work, timer, close
        # Loggers held back by back-pressure wait here for batches to be written. Apart
        # from _cond so a direct write (one per pipeline step) does not wake the thread.
        self._progress = threading.Condition(lock)
        # Held for every store write, taken before the buffer is swapped, so batches
        # reach the store in the order they were logged (tags are last-write-wins).
        self._write_lock = threading.Lock()
        self._pending = Batch()
        self._seq = 0  # the number of the last batch taken (under the write lock)
        self._appended = 0  # items ever appended
        self._taken = 0  # items ever taken from the buffer by a write
        self._written = 0  # items ever on the store, spooled, or dropped after an error
        self._closed = False
        self._error: KnotError | None = None  # a refused batch, raised once by flush
        self._undurable: KnotError | None = None  # why taken batches are not spooled
        self._backlog = False  # batches wait for the store, in the spool or in memory
        self._retry_at = 0.0  # ... and are not tried before this time.monotonic()
        self._thread: threading.Thread | None = None
        _writers.add(self)
        if self.spool is not None and self.spool.orphans():
            # batches an exited process left for this store: adopt and send them now
            self._backlog = True
            self._start_thread()

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
            self._start_thread()
        if self._appended - self._taken >= self.max_batch:
            self._cond.notify_all()
        while self._appended - self._written > self.max_pending and self._error is None:
            # back-pressure: the loop produces faster than the store can write
            self._progress.wait(0.1)

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="knot-writer", daemon=True)
            self._thread.start()

    # durability ----------------------------------------------------------------
    def flush(self, timeout: float | None = None, *, drain: bool = False) -> None:
        """Block until everything appended so far is on the store or in the spool.

        Raises when the spool cannot be written, or once for a batch the store refused.
        `drain` also sends spooled batches now, without waiting for the next retry
        (reads call it, so they see what was spooled once the store is back). The caller
        writes what is pending itself, under the write lock: once it holds the lock, any
        batch the writer thread had taken is already settled, so there is no hand-off.
        """
        with self._cond:
            if self._closed:
                return  # close() flushed; nothing can have been appended since
            target = self._appended
        if not self._write_lock.acquire(timeout=-1 if timeout is None else timeout):
            with self._cond:
                left = target - self._written
            raise Unavailable(
                f"flush timed out after {timeout}s with {left} items unwritten to {self.store.uri}"
            )
        try:
            with self._cond:
                behind = self._written < target or (drain and self._backlog)
            if behind:
                self._take_and_write(force=drain)
        finally:
            self._write_lock.release()
        with self._cond:
            error, self._error = self._error, None
            lost = self._undurable if self._written < target else None
        if error is not None:
            raise error
        if lost is not None:
            raise lost

    def flush_with(self, write: Callable[[Batch], None]) -> None:
        """flush(), where `write` makes what is pending durable itself: a caller that
        writes the store's database adds its own rows to the batch's transaction (a
        pipeline step's record commits with its run). `write` gets the numbered batch,
        maybe empty, and must write it and its own rows all or nothing.

        While batches wait in the spool or the queue (an outage), a plain flush() runs
        first and `write` gets an empty batch, so batches still reach the store in order.
        When `write` raises, the batch goes the ordinary way (written, spooled or
        reported) and the exception propagates.
        """
        with self._write_lock:
            with self._cond:
                direct = not self._closed and not self._delivery.backlog()
                if direct:
                    batch, self._pending = self._pending, Batch()
                    self._taken = self._appended
            if direct:
                self._write_direct(batch, write)
                return
        self.flush()
        write(Batch())

    def _write_direct(self, batch: Batch, write: Callable[[Batch], None]) -> None:
        # called with the write lock held, the batch taken from the buffer
        if len(batch):
            self._seq += 1
            batch.writer_id, batch.seq = self.writer_id, self._seq
        try:
            write(batch)
        except BaseException:
            if len(batch):
                delivery = self._delivery
                delivery.queue.append(batch)
                try:
                    delivery.deliver()
                finally:
                    delivery.take_error()  # the caller sees the exception raised below
                    self._publish()
            raise
        with self._cond:
            self._written += len(batch)
            self._progress.notify_all()

    def sync(self) -> tuple[int, int]:
        """Send every spooled batch now, this writer's and those exited processes left for
        this store. Returns how many spooled batches this writer has sent, and set aside
        as refused by the store, since it started (its thread may have begun already).
        Unavailable, with the spool's path, when the store still cannot take them."""
        delivery = self._delivery
        if self.spool is None:
            return 0, 0
        with self._write_lock:
            self._take_and_write(force=True, adopt=True)
            if delivery.backlog():
                raise Unavailable(
                    f"{self.store.uri} did not take the spooled batches "
                    f"({delivery.why_waiting()}); they stay in {self.spool.path}. "
                    "Run `knot runs sync` again once it is up"
                )
            return delivery.sent_spooled, delivery.set_aside

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
                self._progress.notify_all()
            if self._thread is not None:
                self._thread.join(timeout=5)
            if self.spool is not None:
                with self._write_lock:
                    if self.spool.has_records():
                        log.warning(
                            "knot: batches for %s stay in %s; the next knot client for this "
                            "store sends them, or run `knot runs sync`",
                            self.store.uri,
                            self.spool.path,
                        )
                    self.spool.close()

    # writer thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._appended - self._taken >= self.max_batch:
                        break
                    wait = self.interval
                    if self._backlog:
                        wait = min(wait, max(0.0, self._retry_at - time.monotonic()))
                    waited_out = not self._cond.wait(wait)
                    if waited_out and (self._appended > self._taken or self._retry_due()):
                        break
                if self._closed and self._appended == self._taken:
                    return
            with self._write_lock:
                try:
                    self._take_and_write()
                except Exception as exc:  # a bug must not stop the thread holding the points
                    log.exception("knot: the metric writer failed; it retries")
                    self._delivery.fail(KnotError(f"the metric writer failed: {exc}"))
                    self._publish()

    def _retry_due(self) -> bool:
        # called with the condition held
        return self._backlog and time.monotonic() >= self._retry_at

    def _take_and_write(self, *, force: bool = False, adopt: bool = False) -> None:
        # called with the write lock held
        with self._cond:
            batch, self._pending = self._pending, Batch()
            self._taken = self._appended
        delivery = self._delivery
        if len(batch):
            self._seq += 1
            batch.writer_id, batch.seq = self.writer_id, self._seq
            delivery.queue.append(batch)
        try:
            delivery.deliver(force=force, adopt=adopt)
        finally:
            self._publish()

    def _publish(self) -> None:
        # what the delivery did, for flush() and the thread's timer (write lock held)
        delivery = self._delivery
        with self._cond:
            self._written += delivery.take_settled()
            self._error = delivery.take_error() or self._error
            self._undurable = delivery.undurable
            self._backlog = delivery.backlog()
            self._retry_at = delivery.retry_at
            self._cond.notify_all()
            self._progress.notify_all()


@atexit.register
def _flush_all_at_exit() -> None:
    for writer in list(_writers):
        try:
            # one more try for the spool, so a short process leaves none behind needlessly
            writer.flush(timeout=60, drain=True)
        except KnotError as exc:
            log.error("knot: could not flush at exit: %s", exc.message)
        with writer._cond:
            left = writer._backlog and not writer._closed
        if left and writer.spool is not None:
            log.warning(
                "knot: what %s did not take yet stays in %s; the next knot client for this "
                "store sends it, or `knot runs sync`",
                writer.store.uri,
                writer.spool.path,
            )
