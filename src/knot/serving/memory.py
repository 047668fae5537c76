"""Allocator settings that keep a long-running service's memory near its start-up size.

Left alone, the allocators keep what a large request used: Arrow's mimalloc pool holds
freed buffers (about 30 MiB after a few 10,000-row Arrow requests), and glibc raises its
mmap threshold after each large free, so later large arrays come from a heap it seldom
gives back (another 15-25 MiB after 10,000-row JSON requests). The service therefore
uses Arrow's system pool and fixes glibc's thresholds, so large blocks go back to the
system when freed. Small allocations, all a single-row request makes, are unaffected.
Settings the user made (ARROW_DEFAULT_MEMORY_POOL, MALLOC_MMAP_THRESHOLD_, ...) win.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_memory_low"]

MMAP_THRESHOLD = 64 * 1024  # blocks at least this large are mapped, and unmapped when freed
TRIM_THRESHOLD = 128 * 1024  # free heap top beyond this is given back
_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def keep_memory_low() -> None:
    """Choose the allocators' settings; call it before pyarrow is first used."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc; other C libraries have no mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
