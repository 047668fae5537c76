"""Local temp files that become real files by rename, whole or not at all.

Writes go to a temp file beside their target, which is fsync'd and renamed into
place, then the folder is fsync'd so the rename survives a power cut. Temp files
get the permissions a normal file would (mkstemp alone makes them owner-only).
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

__all__ = ["fsync_dir", "fsync_file", "new_temp_file"]


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
