"""Merged log files and the parts they replace, so readers never count a row twice.

Compaction (knot.serving.logs.compaction) writes a merged file part-merged-*.parquet whose
Parquet metadata lists, under "knot.replaces", the names of the files of its folder whose
rows it holds; only then does it delete them. A reader that lists the folder in between
sees both: `live_files` drops every file a merged file of the same folder replaces, so
each state (inputs only, merged and some inputs, merged only) reads the same rows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MERGED_PREFIX", "REPLACES_KEY", "is_merged", "live_files", "replaced_by"]

MERGED_PREFIX = "part-merged-"
REPLACES_KEY = b"knot.replaces"


def is_merged(name: str) -> bool:
    return name.startswith(MERGED_PREFIX)


def replaced_by(path: Path) -> frozenset[str]:
    """The names of the files (in its folder) that the merged file `path` replaces."""
    stat = path.stat()
    return _replaced(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _replaced(path: str, _size: int, _mtime: int) -> frozenset[str]:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return frozenset(json.loads(meta.get(REPLACES_KEY, b"[]")))


def live_files(files: Iterable[Path]) -> list[Path]:
    """`files` without the ones a merged file among them replaces (same folder), sorted.
    A merged file that vanished meanwhile (compacted again) replaces nothing here: its
    own replacement is then listed by the next look."""
    files = sorted(files)
    gone: set[Path] = set()
    for f in files:
        if is_merged(f.name):
            try:
                gone.update(f.parent / name for name in replaced_by(f))
            except FileNotFoundError:
                gone.add(f)
    return [f for f in files if f not in gone]
