"""The blob store interface: the few raw operations each storage backend provides.

Backends only move bytes under a digest. Hashing, verification on read and
folder manifests live once in ArtifactStore on top of this interface, so a new
backend (GCS, Azure, an HTTP server) is a handful of small methods, and one
conformance suite (tests/artifacts/) runs against every backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["BlobStore", "RawReader"]


class RawReader(Protocol):
    """A readable byte stream as a backend returns it: unverified."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """Raw storage of blobs named by digest; callers pass only well-formed digests."""

    @property
    def uri(self) -> str:
        """The URI that opens this store again (file:///... or s3://bucket/prefix)."""
        ...

    @property
    def staging_dir(self) -> Path | None:
        """Where callers write temp files before put_file (None: the system temp dir).

        A local backend stages on its own disk so put_file is a rename, not a copy.
        """
        ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int:
        """Stored size in bytes; raises NotFound if the blob is absent."""
        ...

    def open_read(self, digest: str) -> RawReader:
        """The stored bytes, unverified; raises NotFound if the blob is absent."""
        ...

    def put_file(self, digest: str, path: Path) -> None:
        """Make the closed local file `path` (in staging_dir, if that is not None), whose
        content hashes to `digest`, durable under `digest`, whole or not at all. The
        backend may move `path` away; the caller removes it if it is still there."""
        ...

    def delete(self, digest: str) -> None:
        """Remove the blob; absent blobs are not an error."""
        ...
