"""Delivery: the writer's numbered batches to the store, in order, through the spool
while the store does not take them.

A batch first goes to the store with a few quick retries. When those fail for a reason
that passes (Unavailable: connection refused, a timeout, a 5xx answer), an outage
begins: the batch and every later one are appended to the spool, and the store is tried
again after a pause that doubles up to `max_backoff` seconds. When it answers, spooled
batches are sent first, in order, then newer ones directly. A batch the store refuses
as bad input (a 4xx answer) is never retried: a fresh one is reported to the program,
a spooled one is set aside beside the spool with the reason. A refused token stops the
retries until `knot runs sync`, keeping the batches.

Not thread-safe: BatchWriter calls it under its write lock.
"""

from __future__ import annotations

import logging
import math
import time

from knot.errors import Forbidden, KnotError, Unauthorized, Unavailable
from knot.tracking.buffer.spool import Spool, decode_record
from knot.tracking.entities import Batch
from knot.tracking.protocol import TrackingStore

__all__ = ["Delivery"]

log = logging.getLogger("knot.writer")


class Delivery:
    def __init__(
        self,
        store: TrackingStore,
        spool: Spool | None,
        writer_id: str,
        *,
        retries: int,
        max_backoff: float,
    ) -> None:
        self.store = store
        self.spool = spool
        self.writer_id = writer_id
        self.retries = retries
        self.max_backoff = max_backoff
        self.queue: list[Batch] = []  # taken from the buffer, neither written nor spooled
        #: no store attempt before this (time.monotonic()) while an outage lasts
        self.retry_at = 0.0
        #: why queued batches are neither written nor spooled (the spool failed)
        self.undurable: KnotError | None = None
        self.sent_spooled = 0  # ever sent from the spool
        self.set_aside = 0  # ever refused from the spool
        self._settled = 0  # items written, spooled or dropped since take_settled()
        self._error: KnotError | None = None  # a refusal for the program to see
        self._outage: KnotError | None = None
        self._backoff = 0.0
        self._paused: KnotError | None = None
        self._adopt_due = spool is not None

    def backlog(self) -> bool:
        """Batches wait, in the queue or in the spool."""
        return bool(self.queue) or (self.spool is not None and self.spool.has_records())

    def take_settled(self) -> int:
        settled, self._settled = self._settled, 0
        return settled

    def take_error(self) -> KnotError | None:
        error, self._error = self._error, None
        return error

    def why_waiting(self) -> str:
        return (self._paused or self._outage or self.undurable or KnotError("unknown")).message

    def deliver(self, *, force: bool = False, adopt: bool = False) -> None:
        """Send or spool the queue; `force` tries the store now, ignoring the pause
        (and a refused token), `adopt` looks for abandoned spool files first."""
        spool = self.spool
        if spool is not None:
            if self._adopt_due or adopt:
                self._adopt(spool)
            if force:
                self._paused = None
            due = force or (self._paused is None and time.monotonic() >= self.retry_at)
            if spool.has_records() and due:
                self._drain(spool)
            if spool.has_records() or (self._outage is not None and not due):
                self._spool_queue(spool)  # the spool goes first: keep the order
                return
        while self.queue:
            batch = self.queue[0]
            try:
                self._send(batch, 0 if self._outage is not None else self.retries)
            except Unavailable as exc:
                if spool is not None:
                    self._begin_outage(exc)
                    self._spool_queue(spool)
                    return
                self._refuse(exc, batch)
            except KnotError as exc:
                self._refuse(exc, batch)
            else:
                self._end_outage()
            self.queue.pop(0)
            self._settled += len(batch)

    def fail(self, exc: KnotError) -> None:
        """Something unexpected went wrong: wait before the next attempt."""
        self._begin_outage(exc)

    def _send(self, batch: Batch, retries: int) -> None:
        delay = 0.05
        for attempt in range(retries + 1):
            try:
                self.store.log_batch(batch)
                return
            except Unavailable:
                if attempt == retries:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except KnotError:
                raise
            except Exception as exc:  # a driver error we did not map
                raise KnotError(f"writing to {self.store.uri} failed: {exc}") from exc

    # the spool -------------------------------------------------------------------
    def _spool_queue(self, spool: Spool) -> None:
        if not self.queue:
            return
        try:
            spool.add(self.queue)
        except OSError as exc:
            items = sum(len(b) for b in self.queue)
            self.undurable = Unavailable(
                f"cannot write the spool {spool.path} ({exc.strerror or exc}) while "
                f"{self.store.uri} does not take batches; {items} logged items are held in "
                f"memory only and retried. Free disk space or make {spool.folder} writable "
                "(or set KNOT_HOME to a writable folder)"
            )
            log.error("knot: %s", self.undurable.message)
            if self._outage is None:
                self._begin_outage(self.undurable)
            return
        self._settled += sum(len(b) for b in self.queue)
        self.queue.clear()
        self.undurable = None

    def _drain(self, spool: Spool) -> None:
        sent = 0
        for record, end in spool.records():
            if record is None:
                log.warning("knot: skipped a damaged record in %s", spool.path)
                spool.mark_sent(end)
                continue
            try:
                batch = decode_record(record)
            except (ValueError, KeyError, TypeError) as exc:
                unreadable = KnotError(f"the record cannot be read: {exc}")
                self._refuse_spooled(spool, record, unreadable, own=False)
                spool.mark_sent(end)
                continue
            try:
                self._send(batch, 0)
            except Unavailable as exc:
                self._begin_outage(exc)
                break
            except (Unauthorized, Forbidden) as exc:
                self._pause(exc, spool)
                break
            except KnotError as exc:
                own = batch.writer_id == self.writer_id
                self._refuse_spooled(spool, record, exc, own=own)
            else:
                sent += 1
            spool.mark_sent(end)
        else:
            self._end_outage()
            self._adopt_due = True  # another process may have left a spool meanwhile
        if sent:
            self.sent_spooled += sent
            log.info("knot: sent %d spooled batches to %s", sent, self.store.uri)

    def _adopt(self, spool: Spool) -> None:
        self._adopt_due = False
        try:
            adopted = spool.adopt()
        except OSError as exc:
            log.error("knot: could not take over the spool files in %s: %s", spool.folder, exc)
            return
        if adopted:
            log.info("knot: %d batches an earlier process spooled will be sent", adopted)

    def _refuse_spooled(
        self, spool: Spool, record: bytes, refusal: KnotError, *, own: bool
    ) -> None:
        # Never retried (it would be refused again and hold back every later batch), but
        # kept beside the spool with the reason, so nothing disappears unseen.
        self.set_aside += 1
        try:
            spool.set_aside(record, refusal.message)
        except OSError as exc:
            log.error("knot: a refused batch is lost, %s is not writable: %s", spool.folder, exc)
            return
        error = type(refusal)(
            f"{self.store.uri} refused a spooled batch ({refusal.message}); it is kept in "
            f"{spool.rejected_path}",
            field=refusal.field,
        )
        log.error("knot: %s", error.message)
        if own:  # another process's batch is not this program's error to raise
            self._error = error

    def _refuse(self, exc: KnotError, batch: Batch) -> None:
        log.error("knot: %d logged items were not written: %s", len(batch), exc.message)
        self._error = exc

    def _pause(self, exc: KnotError, spool: Spool) -> None:
        # A token problem does not pass by itself: stop retrying until `knot runs sync`.
        error = type(exc)(
            f"{self.store.uri} refused the spooled batches ({exc.message}); they stay in "
            f"{spool.path}. Set KNOT_TOKEN to a token that may log runs, then run "
            "`knot runs sync`",
            field=exc.field,
        )
        log.error("knot: %s", error.message)
        self._paused = self._error = error
        self.retry_at = math.inf

    def _begin_outage(self, exc: KnotError) -> None:
        if self._outage is None:
            if self.spool is not None:
                log.warning(
                    "knot: %s; logged items are spooled to %s and sent when it answers",
                    exc.message,
                    self.spool.path,
                )
            self._backoff = 0.5
        else:
            self._backoff = min(self._backoff * 2, self.max_backoff)
        self._outage = exc
        self.retry_at = time.monotonic() + self._backoff

    def _end_outage(self) -> None:
        if self._outage is not None:
            log.info("knot: %s takes batches again", self.store.uri)
        self._outage = None
        self._backoff = 0.0
        self.retry_at = 0.0
