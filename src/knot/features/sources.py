"""The Parquet file behind each feature view, ready for DuckDB: a Knot dataset version's
blob (verified against its digest first) or the view's own Parquet file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from knot.artifacts import ArtifactStore
from knot.data.blobs import verified_file
from knot.data.store import DatasetStore
from knot.errors import Invalid
from knot.features.catalog import StoredView
from knot.store.database import Database

__all__ = ["ViewFile", "view_files"]


@dataclass(frozen=True)
class ViewFile:
    stored: StoredView
    path: Path
    dataset: str | None  # the exact dataset version read (ratings@3), None for Parquet


@contextmanager
def view_files(
    db: Database, artifacts: ArtifactStore, views: Sequence[StoredView]
) -> Iterator[dict[str, ViewFile]]:
    """Each view's file by view name, valid inside the block (a remote blob is a
    temporary download)."""
    with ExitStack() as stack:
        out: dict[str, ViewFile] = {}
        for stored in views:
            path = stored.view.parquet_path
            if path is not None:
                if not path.is_file():
                    raise Invalid(
                        f"feature view {stored.view.name!r} reads {str(path)!r}, which is gone; "
                        "restore the file or apply the view with a new source",
                        field="source",
                    )
                out[stored.view.name] = ViewFile(stored, path, None)
                continue
            version = DatasetStore(db, artifacts).get(stored.view.source)
            local = stack.enter_context(verified_file(artifacts, version.digest))
            out[stored.view.name] = ViewFile(stored, local, version.ref)
        yield out
