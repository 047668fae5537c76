"""Local temp files that become real files by rename, whole or not at all.

Writes go to a temp file beside their target, which is fsync'd and renamed into
place, then the folder is fsync'd so the rename survives a power cut. Temp files
get the permissions a normal file would (mkstemp alone makes them owner-only).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["EarlyWriteback", "fsync_dir", "fsync_file", "new_temp_file"]


def new_temp_file(folder: Path | None, prefix: str, suffix: str) -> tuple[int, Path]:
    """Create a temp file in `folder` (None: the system temp dir); returns (fd, path)."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    if os.name == "posix":
        os.fchmod(fd, 0o666 & ~_umask())
    return fd, Path(name)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    # Without this the rename itself may be lost on power failure (POSIX only).
    if os.name == "posix":
        fsync_file(path)


@functools.cache
def _umask() -> int:
    # Reading the umask with os.umask() briefly changes it for every thread; /proc does not.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


class EarlyWriteback:
    """Has the kernel start writing a large file's pages to disk while it is still being
    written, so the fsync at the end waits for the last stretch only, not for the whole
    file: the disk works while the writer reads, tars and hashes the next bytes.

    Call `wrote(n)` after each write of n bytes. Every `every` bytes the file is flushed
    and Linux's sync_file_range(SYNC_FILE_RANGE_WRITE) starts (does not wait for) the
    write-back of that stretch; the pages stay cached. It promises nothing: the fsync
    that follows is still what makes the file durable. Elsewhere it does nothing.
    """

    def __init__(self, file: BinaryIO, every: int = 64 << 20) -> None:
        self.file, self.every = file, every
        self.start = self.pending = 0

    def wrote(self, n: int) -> None:
        self.pending += n
        if self.pending >= self.every and _SYNC_FILE_RANGE is not None:
            self.file.flush()
            # a failure here only means the fsync has more to do: the result is ignored
            _SYNC_FILE_RANGE(self.file.fileno(), self.start, self.pending, _START_WRITE)
            self.start += self.pending
            self.pending = 0


_START_WRITE = 2  # SYNC_FILE_RANGE_WRITE


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


_SYNC_FILE_RANGE = _sync_file_range()
