"""The service's allocator settings: large freed blocks go back to the system (they stay
with glibc's defaults), Arrow uses the system pool, and the user's own settings win."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Frees 40 blocks of 1 MiB that small live blocks sit between, after an 8 MiB block has
# raised glibc's dynamic mmap threshold; prints how many MiB stay resident, then the pool.
PROBE = """
import os, sys
if sys.argv[1] == "tuned":
    from knot.serving.memory import keep_memory_low
    keep_memory_low()
def rss():
    status = open(f"/proc/{os.getpid()}/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024
big = bytearray(8 * 2**20)
del big
before = rss()
pairs = [(bytearray(2**20), bytearray(4096)) for _ in range(40)]
pins = [small for _, small in pairs]
del pairs
kept = rss() - before
import pyarrow
print(kept, pyarrow.default_memory_pool().backend_name)
"""


def _probe(mode: str, **env: str) -> tuple[int, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "ARROW_"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), out[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux's")
def test_freed_large_blocks_go_back_and_arrow_uses_the_system_pool() -> None:
    kept, pool = _probe("default")
    tuned_kept, tuned_pool = _probe("tuned")
    assert kept >= 30  # glibc's defaults keep the freed blocks
    assert tuned_kept <= 5
    assert pool != "system"
    assert tuned_pool == "system"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux's")
def test_the_users_allocator_settings_win() -> None:
    kept, pool = _probe(
        "tuned", MALLOC_MMAP_THRESHOLD_="33554432", ARROW_DEFAULT_MEMORY_POOL="jemalloc"
    )
    assert kept >= 30
    assert pool == "jemalloc"
