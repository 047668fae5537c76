"""A dataset version's Parquet blob as a local file DuckDB and pyarrow can read,
verified against its digest first: a damaged blob is Corrupted, never read."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from knot.artifacts import ArtifactStore, LocalBlobStore
from knot.artifacts._digest import blob_key

__all__ = ["verified_file"]


@contextmanager
def verified_file(artifacts: ArtifactStore, digest: str) -> Iterator[Path]:
    """Local blobs are hashed in place and read where they lie; remote ones (S3) are
    downloaded, verified on the way, into a temporary file that is removed after."""
    backend = artifacts.backend
    if isinstance(backend, LocalBlobStore):
        artifacts.verify(digest)
        yield backend.root / blob_key(digest)
        return
    with tempfile.TemporaryDirectory(prefix="knot-dataset-") as tmp:
        yield artifacts.download_file(digest, Path(tmp) / "data.parquet")
