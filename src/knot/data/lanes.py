"""Run one scan's aggregates as several column-disjoint queries at once.

DuckDB parallelises a Parquet scan by row group, so a file written with few, large row
groups (pyarrow's default is one group per million rows) is read and aggregated on one
thread. When a file has fewer row groups than threads, the work is split into groups of
columns of about equal estimated cost, each group one query, and the queries run on
cursors of the same connection, `threads()` at a time, heaviest first. Every query still
streams the file, reading only its own columns, so memory stays what one scan would use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq

__all__ = ["lanes", "query", "run_tasks", "split", "threads"]

T = TypeVar("T")


def threads() -> int:
    """CPUs this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def lanes(path: Path) -> int:
    """Into how many queries to split a scan of `path`: 1 when DuckDB already has a row
    group per thread, otherwise two per thread, so that a misjudged cost evens out."""
    groups = pq.ParquetFile(path).metadata.num_row_groups
    return 1 if groups >= threads() else 2 * threads()


def split(items: Sequence[T], cost: Callable[[T], float], n: int) -> list[list[T]]:
    """`items` in at most n non-empty groups of about equal total cost (largest item first,
    each to the lightest group), heaviest group first, original order within a group."""
    groups: list[list[tuple[int, T]]] = [[] for _ in range(max(min(n, len(items)), 1))]
    loads = [0.0] * len(groups)
    for index, item in sorted(enumerate(items), key=lambda e: -cost(e[1])):
        lightest = loads.index(min(loads))
        groups[lightest].append((index, item))
        loads[lightest] += cost(item)
    order = sorted(range(len(groups)), key=lambda g: -loads[g])
    return [[item for _, item in sorted(groups[g], key=lambda e: e[0])] for g in order if groups[g]]


def query(con: Any, sql: str) -> Callable[[], list[tuple[Any, ...]]]:
    """A task that runs `sql` on a cursor of `con` of its own and returns its rows."""

    def run() -> list[tuple[Any, ...]]:
        cursor = con.cursor()
        try:
            return list(cursor.execute(sql).fetchall())
        finally:
            cursor.close()

    return run


def run_tasks(tasks: Sequence[tuple[float, Callable[[], T]]]) -> list[T]:
    """Run (cost, task) pairs `threads()` at a time, heaviest first; results in order.
    DuckDB queries, pyarrow reads and NumPy's heavy loops release the GIL."""
    if len(tasks) == 1:
        return [tasks[0][1]()]
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i][0])
    with ThreadPoolExecutor(max(min(len(tasks), threads()), 1)) as pool:
        futures = {i: pool.submit(tasks[i][1]) for i in order}
        return [futures[i].result() for i in range(len(tasks))]
