"""The spool: batches the store could not take, kept in a local file until it can.

While the store is unreachable (connection refused, a timeout, a 5xx answer) the writer
appends each batch to `$KNOT_HOME/spool/<store>/<writer id>.spool` and keeps retrying in
the background; spooled batches go out in order, before newer ones, and the file is
removed once all are sent. A live writer holds an exclusive flock on its file. A file
nobody holds was left by a process that exited (or was killed) with batches unsent: the
next writer for the same store adopts it (copies its records into its own spool, then
removes it), and `knot runs sync` does the same on demand.

Format: one record per line, `<crc32 as 8 hex digits> <JSON batch>\\n`, fsynced after
each append. A line cut short by a crash or whose checksum does not match is skipped;
every other record is still read. Batches carry their writer's id and number, so a
record sent twice (adopted after a crash mid-drain) is written once by the store.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson

from knot.artifacts import fsync_dir
from knot.tracking.entities import Batch, NewRun

__all__ = ["Spool", "decode_record", "encode_record", "spool_folder"]

log = logging.getLogger("knot.writer")
_CHUNK = 1 << 20


def spool_folder(home: Path, store_uri: str) -> Path:
    """The spool folder of one store: readable, and unique per URI (its hash)."""
    shown = re.sub(r"(://[^/:@]*):[^/@]*@", r"\1@", store_uri)  # never a password on disk
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", shown).strip("-")[:60]
    return home / "spool" / f"{slug}-{hashlib.sha256(store_uri.encode()).hexdigest()[:12]}"


def encode_record(batch: Batch) -> bytes:
    """One spool line for `batch`, checksum and newline included."""
    body = {
        "writer_id": batch.writer_id,
        "seq": batch.seq,
        "starts": [new.model_dump(mode="json") for new in batch.starts],
        "metrics": [(r, k, _json_float(v), s, t) for r, k, v, s, t in batch.metrics],
        "params": batch.params,
        "tags": batch.tags,
        "ends": [(r, str(status), t) for r, status, t in batch.ends],
    }
    data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    return b"%08x %s\n" % (zlib.crc32(data), data)


def decode_record(data: bytes) -> Batch:
    """The batch of a record's JSON (checked by its checksum already)."""
    body = orjson.loads(data)
    return Batch(
        starts=[NewRun.model_validate(new) for new in body["starts"]],
        metrics=[(r, k, float(v), s, t) for r, k, v, s, t in body["metrics"]],
        params=[(r, k, v) for r, k, v in body["params"]],
        tags=[(r, k, v) for r, k, v in body["tags"]],
        ends=[(r, status, t) for r, status, t in body["ends"]],
        writer_id=body["writer_id"],
        seq=body["seq"],
    )


def _json_float(value: float) -> float | str:
    # JSON has no NaN or infinities; float() reads these strings back
    if value - value == 0:
        return value
    return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"


class Spool:
    """One writer's spool file: appended to while the store is down, drained in order.

    Not thread-safe: the writer calls it under its write lock. Methods raise OSError when
    the file cannot be written; the writer turns that into an error naming `path`.
    """

    def __init__(self, folder: Path, writer_id: str) -> None:
        self.folder = folder
        self.path = folder / f"{writer_id}.spool"
        self.rejected_path = folder / f"{writer_id}.rejected"
        self._fd: int | None = None
        self._closed = False
        self._size = 0  # bytes in the file
        self._sent = 0  # bytes at its start already sent (or set aside)

    def has_records(self) -> bool:
        return self._sent < self._size

    def add(self, batches: list[Batch]) -> None:
        """Append `batches` and fsync; on error the file is left as it was."""
        self._append(b"".join(encode_record(batch) for batch in batches))

    def records(self) -> Iterator[tuple[bytes | None, int]]:
        """(record JSON or None for a damaged line, offset after it), from the first unsent."""
        if self._fd is not None:
            yield from _lines(self._fd, self._sent, self._size)

    def mark_sent(self, offset: int) -> None:
        """Everything before `offset` is on the store; remove the file once all is."""
        self._sent = offset
        if self._sent >= self._size:
            self._remove()

    def set_aside(self, record: bytes, reason: str) -> None:
        """Keep a record the store refused (a 4xx answer) beside the spool, with why."""
        line = b'{"reason":%s,"batch":%s}\n' % (orjson.dumps(reason), record)
        fd = os.open(self.rejected_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def orphans(self) -> list[Path]:
        """Other writers' spool files in this folder, oldest first (held ones included)."""
        try:
            found = [p for p in self.folder.glob("*.spool") if p != self.path]
        except OSError:
            return []
        return sorted(found, key=_mtime)

    def adopt(self) -> int:
        """Take over the spool files no live writer holds; returns how many records."""
        adopted = 0
        for path in self.orphans():
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # its owner drained it meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is alive, or another process is adopting it
                if not _still_at(fd, path):
                    continue
                adopted += self._copy_from(fd, path)
                # only now that the copy is fsynced may the original go
                path.unlink()
                fsync_dir(self.folder)
            finally:
                os.close(fd)
        return adopted

    def close(self) -> None:
        """Release the file (and its lock): what is unsent stays for the next writer,
        and this spool takes nothing more."""
        self._closed = True
        self._release()

    # internals -----------------------------------------------------------------
    def _copy_from(self, fd: int, path: Path) -> int:
        copied = 0
        chunk = bytearray()
        for record, _ in _lines(fd, 0, os.fstat(fd).st_size):
            if record is None:
                log.warning("knot: skipped a damaged record in the abandoned spool %s", path)
                continue
            chunk += b"%08x %s\n" % (zlib.crc32(record), record)
            copied += 1
            if len(chunk) > _CHUNK:
                self._append(bytes(chunk), sync=False)
                chunk.clear()
        if copied:
            self._append(bytes(chunk))  # the last part, and one fsync for all of it
        return copied

    def _open(self) -> int:
        if self._closed:
            # its file may now belong to an adopter; writing it again would race them
            raise OSError(errno.EBADF, "the spool is closed", str(self.path))
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Created under a name no adopter looks at, locked, then linked: a file named
            # *.spool is held by its writer from its first byte, and never replaced.
            temp = self.folder / f".{self.path.name}.new"
            fd = os.open(temp, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.link(temp, self.path)
                temp.unlink()
                fsync_dir(self.folder)
            except BaseException:
                os.close(fd)
                raise
            self._fd, self._size, self._sent = fd, 0, 0
        return self._fd

    def _append(self, data: bytes, *, sync: bool = True) -> None:
        fd = self._open()
        try:
            _write_all(fd, data)
            if sync:
                os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):  # no half record for the next append to follow
                os.ftruncate(fd, self._size)
            raise
        self._size += len(data)

    def _remove(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()
            fsync_dir(self.folder)
        except FileNotFoundError:
            pass
        self._release()

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._size = self._sent = 0


def _lines(fd: int, start: int, end: int) -> Iterator[tuple[bytes | None, int]]:
    """Records between byte offsets `start` and `end`; a last line without its newline
    (an append cut short) is not yielded."""
    buffer = bytearray()
    read = start  # file offset just after `buffer`
    line_start = start
    while True:
        cut = buffer.find(b"\n")
        if cut < 0:
            if read >= end:
                return
            data = os.pread(fd, min(_CHUNK, end - read), read)
            if not data:
                return
            buffer += data
            read += len(data)
            continue
        line = bytes(buffer[:cut])
        del buffer[: cut + 1]
        line_start += cut + 1
        yield _checked(line), line_start


def _checked(line: bytes) -> bytes | None:
    if len(line) < 10 or line[8:9] != b" ":
        return None
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    record = line[9:]
    return record if zlib.crc32(record) == crc else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _still_at(fd: int, path: Path) -> bool:
    # the file may have been drained and removed between our open and our lock
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
