"""CPU time per call, the scale bench's figure that other work on a shared machine does
not move: on 2 cores with a load average of 10, a query that needs 30 ms of CPU takes
100 ms or more to answer, and only the CPU says which one it was.

Counted for this process and for the process trees of the servers it calls (PostgreSQL
when it runs on this machine, a `knot server`), from /proc.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from _servers import _cpu_ticks, tree_pids

__all__ = ["cpu_ms_per_call", "describe", "postmaster_pid"]


def postmaster_pid(uri: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its backend
    for this connection is a child of it), else None."""
    import psycopg

    with psycopg.connect(uri.replace("postgresql+psycopg", "postgresql")) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()
    try:
        stat = Path(f"/proc/{backend[0]}/stat").read_text() if backend else ""
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else None


def _ticks(pid: int) -> int:
    return sum(_cpu_ticks(p) for p in tree_pids(pid))


def cpu_ms_per_call(
    call: Callable[[int], object], rounds: int, servers: dict[str, int | None]
) -> tuple[list[float], dict[str, float]]:
    """Run `call` `rounds` times; the wall seconds of each call, and the CPU milliseconds
    per call of this process ("client") and of each named server's process tree."""
    hz = os.sysconf("SC_CLK_TCK")
    known = {name: pid for name, pid in servers.items() if pid is not None}
    before = {name: _ticks(pid) for name, pid in known.items()}
    cpu = time.process_time()
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    used = {"client": (time.process_time() - cpu) * 1000 / rounds}
    for name, pid in known.items():
        used[name] = (_ticks(pid) - before[name]) * 1000 / hz / rounds
    return times, used


def describe(used: dict[str, float]) -> str:
    return "CPU per call: " + ", ".join(f"{k} {v:.1f} ms" for k, v in used.items())
