"""Stage a source as a canonical Parquet file beside the artifact store, and learn its
digest before anything is stored, so identical content is found without a copy."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from knot.artifacts import ArtifactStore, digest_file
from knot.data.canonical import Written, write_canonical
from knot.data.profile import Profile, compute_profile
from knot.data.progress import is_large, row_progress, step_progress
from knot.data.sources import open_source

__all__ = ["Staged", "stage"]


@dataclass
class Staged:
    path: Path
    digest: str
    size: int
    written: Written
    description: str
    large: bool

    @cached_property
    def profile(self) -> Profile:
        with step_progress("profiling", 2, self.large) as step:
            return compute_profile(self.path, step)


@contextmanager
def stage(source: object, artifacts: ArtifactStore) -> Iterator[Staged]:
    """Write `source` to a temporary canonical Parquet file (removed on exit)."""
    opened = open_source(source)
    large = is_large(opened.total_rows, opened.size)
    staging = artifacts.backend.staging_dir
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".knot-dataset-", suffix=".parquet", dir=staging)
    os.close(fd)
    path = Path(name)
    try:
        with row_progress(f"storing {opened.description}", opened.total_rows, large) as advance:
            written = write_canonical(opened, path, advance)
        yield Staged(
            path, digest_file(path), path.stat().st_size, written, opened.description, large
        )
    finally:
        path.unlink(missing_ok=True)
