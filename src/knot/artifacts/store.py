"""ArtifactStore: files and folders in, verified bytes out, on any BlobStore backend.

Everything above raw storage is written here once: hashing while staging a
write, storing equal content once, verifying every read against its digest,
and storing folders as manifests. Backends (local.py, s3.py) only move bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from knot.artifacts._atomic import new_temp_file
from knot.artifacts._digest import CHUNK_SIZE, check_digest, digest_bytes
from knot.artifacts._verify import VerifiedReader
from knot.artifacts.manifest import Manifest, ManifestEntry, check_entry_path
from knot.artifacts.protocol import BlobStore
from knot.errors import Corrupted, Invalid, NotFound

if TYPE_CHECKING:
    from _typeshed import SupportsRead

__all__ = ["ArtifactStore", "BlobInfo"]

_MAX_MANIFEST_BYTES = 64 * 1024 * 1024
PathArg = str | os.PathLike[str]
Chunk = bytes | bytearray | memoryview


@dataclass(frozen=True)
class BlobInfo:
    """What the store knows about a blob without reading it."""

    digest: str
    size: int


class ArtifactStore:
    """Content-addressed storage of bytes, files and folders, named by sha256 digest."""

    def __init__(self, backend: BlobStore) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"ArtifactStore({self.uri!r})"

    @property
    def uri(self) -> str:
        return self.backend.uri

    # writing ---------------------------------------------------------------

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; returns its digest. Equal content is stored once."""
        digest = digest_bytes(data)
        if not self.backend.exists(digest):
            self._put_chunks([data])
        return digest

    def put_stream(self, source: SupportsRead[bytes] | Iterable[Chunk]) -> str:
        """Store what a binary file object or an iterable of byte chunks yields."""
        return self._put_chunks(_chunks_of(source)).digest

    def put_file(self, path: PathArg) -> str:
        """Store one local file, streamed in 1 MiB chunks; returns its digest."""
        return self._put_file(Path(path)).digest

    def put_folder(self, path: PathArg) -> str:
        """Store every file below `path` and a manifest of them; returns the manifest's
        digest, which names the folder. Symlinked files are stored by content."""
        root = Path(path)
        if not root.is_dir():
            raise Invalid(f"{root} is not a folder; use put_file for a file", field="path")
        entries = []
        for file in _files_below(root):
            rel = check_entry_path(file.relative_to(root).as_posix(), f"for {root}")
            info = self._put_file(file)
            entries.append(ManifestEntry(path=rel, digest=info.digest, size=info.size))
        return self.put_bytes(Manifest(entries=tuple(entries)).to_bytes())

    def _put_file(self, path: Path) -> BlobInfo:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"file {path} does not exist", field="path") from None
        except IsADirectoryError:
            raise Invalid(f"{path} is a folder; use put_folder", field="path") from None
        except PermissionError:
            raise Invalid(f"cannot read {path}: permission denied", field="path") from None
        with handle:
            return self._put_chunks(_chunks_of(handle))

    def _put_chunks(self, chunks: Iterable[Chunk]) -> BlobInfo:
        """Hash while writing a temp file, then hand the finished file to the backend."""
        staging = self.backend.staging_dir
        if staging is not None:
            staging.mkdir(parents=True, exist_ok=True)
        fd, temp = new_temp_file(staging, prefix=".knot-", suffix=".tmp")
        try:
            hasher, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    if not isinstance(chunk, bytes | bytearray | memoryview):
                        raise Invalid(
                            f"put_stream needs bytes chunks, got {type(chunk).__name__}; "
                            "open files in binary mode ('rb') or encode text",
                            field="source",
                        )
                    hasher.update(chunk)
                    size += memoryview(chunk).nbytes
                    out.write(chunk)
            digest = "sha256:" + hasher.hexdigest()
            if not self.backend.exists(digest):
                self.backend.put_file(digest, temp)
            return BlobInfo(digest=digest, size=size)
        finally:
            temp.unlink(missing_ok=True)

    # reading ---------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        return self.backend.exists(check_digest(digest))

    def stat(self, digest: str) -> BlobInfo:
        """Digest and stored size; raises NotFound if absent."""
        return BlobInfo(digest=digest, size=self.backend.size(check_digest(digest)))

    def size(self, digest: str) -> int:
        return self.stat(digest).size

    def open(self, digest: str) -> io.BufferedReader:
        """A stream of the blob's bytes; reading to the end raises Corrupted if they do
        not match `digest`. Use it as a context manager."""
        raw = self.backend.open_read(check_digest(digest))
        return io.BufferedReader(VerifiedReader(raw, digest, self.uri), buffer_size=CHUNK_SIZE)

    def get_bytes(self, digest: str) -> bytes:
        """The whole blob in memory, verified; prefer download_file for big blobs."""
        with self.open(digest) as stream:
            return stream.read()

    def verify(self, digest: str) -> BlobInfo:
        """Read the blob through and check its digest; raises Corrupted or NotFound."""
        size = 0
        with self.open(digest) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
        return BlobInfo(digest=digest, size=size)

    def download_file(self, digest: str, dest: PathArg) -> Path:
        """Copy a verified blob to `dest`. The file appears only once it is verified."""
        target = Path(dest)
        if target.is_dir():
            raise Invalid(f"{target} is a folder; give the file path to write", field="dest")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.open(digest) as stream:
            fd, temp = new_temp_file(target.parent, prefix=f".{target.name}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(stream, out, CHUNK_SIZE)
                os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
        return target

    def read_manifest(self, digest: str) -> Manifest:
        """The folder manifest stored under `digest`; raises Invalid if it is not one."""
        if self.size(digest) > _MAX_MANIFEST_BYTES:
            raise Invalid(
                f"blob {digest} is not a folder manifest; use download_file", field="digest"
            )
        return Manifest.from_bytes(self.get_bytes(digest), digest)

    def download_folder(self, digest: str, dest_dir: PathArg) -> Path:
        """Recreate the folder named by manifest `digest` inside `dest_dir`."""
        manifest = self.read_manifest(digest)
        root = Path(dest_dir)
        root.mkdir(parents=True, exist_ok=True)
        real_root = root.resolve()
        for entry in manifest.entries:
            target = root / entry.path
            # A symlink already inside dest_dir must not carry a file out of it.
            if not target.parent.resolve().is_relative_to(real_root):
                raise Invalid(
                    f"{entry.path!r} of folder {digest} would be written outside {root} "
                    "through a symlink; download into an empty folder",
                    field="dest_dir",
                )
            self.download_file(entry.digest, target)
            if (actual := target.stat().st_size) != entry.size:
                raise Corrupted(
                    f"folder manifest {digest} says {entry.path!r} has {entry.size} bytes, "
                    f"but blob {entry.digest} has {actual}; put the folder again",
                    field="digest",
                )
        return root

    # removing --------------------------------------------------------------

    def delete(self, digest: str) -> None:
        """Remove one blob (not the files a manifest names); absent blobs are fine."""
        self.backend.delete(check_digest(digest))


def _chunks_of(source: SupportsRead[bytes] | Iterable[Chunk]) -> Iterator[Chunk]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    read = getattr(source, "read", None)
    if callable(read):
        while chunk := read(CHUNK_SIZE):
            yield chunk
        return
    yield from cast(Iterable[Chunk], source)


def _files_below(root: Path) -> Iterator[Path]:
    """Files below `root` in sorted order; symlinked folders are refused (they can loop)."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs.sort()
        for name in dirs:
            if (here / name).is_symlink():
                raise Invalid(
                    f"{here / name} is a symlink to a folder; store its target or copy it in",
                    field="path",
                )
        for name in sorted(files):
            file = here / name
            if not file.is_file():
                raise Invalid(f"{file} is a broken symlink or not a regular file", field="path")
            yield file
