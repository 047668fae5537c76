"""The local folder backend, Knot's default: blobs as files under one root folder.

Layout: <root>/blobs/sha256/ab/abcdef... for blobs and <root>/tmp/ for writes in
progress. A blob is written to tmp/, fsync'd, renamed into place and its folder
fsync'd, so a crash at any point leaves either the whole blob or only a temp
file, which readers never see and clean_staging() removes.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

from knot.artifacts._atomic import fsync_dir, fsync_file
from knot.artifacts._digest import blob_key
from knot.errors import NotFound, Unavailable

__all__ = ["LocalBlobStore"]

_STALE_AFTER_SECONDS = 24 * 3600.0


class LocalBlobStore:
    """Blobs in a local (or mounted network) folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        try:
            (self.root / "blobs").mkdir(parents=True, exist_ok=True)
            (self.root / "tmp").mkdir(exist_ok=True)
        except OSError as exc:
            raise Unavailable(
                f"cannot create the artifact folder {self.root} ({exc.strerror}); "
                "choose a writable folder with KNOT_ARTIFACTS=file:///path"
            ) from exc

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    @property
    def uri(self) -> str:
        return self.root.as_uri()

    @property
    def staging_dir(self) -> Path:
        return self.root / "tmp"

    def _path(self, digest: str) -> Path:
        return self.root / blob_key(digest)

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            raise _missing(digest, self.root) from None

    def open_read(self, digest: str) -> io.BufferedReader:
        try:
            return self._path(digest).open("rb")
        except FileNotFoundError:
            raise _missing(digest, self.root) from None

    def put_file(self, digest: str, path: Path) -> None:
        target = self._path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fsync_file(path)
        # os.replace is atomic: a reader sees the old blob or the new one, never a mix;
        # two writers of the same digest write the same bytes, so either may win.
        os.replace(path, target)
        fsync_dir(target.parent)

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(digest).unlink()

    def clean_staging(self, older_than: float = _STALE_AFTER_SECONDS) -> int:
        """Remove temp files left by writers that died, if older than `older_than`
        seconds (the default spares writes still in progress). Returns how many."""
        cutoff = time.time() - older_than
        removed = 0
        for entry in self.staging_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime <= cutoff:
                    entry.unlink()
                    removed += 1
        return removed


def _missing(digest: str, root: Path) -> NotFound:
    return NotFound(
        f"blob {digest} is not in the artifact store {root}; "
        "check the digest or put the content first",
        field="digest",
    )
