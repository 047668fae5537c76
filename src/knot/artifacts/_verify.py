"""Verification on read: a stream that hashes what passes through it.

Whatever backend a blob comes from, its bytes pass through VerifiedReader, which
raises Corrupted at the end of the stream if they do not hash to the digest
they were asked for, so a damaged blob is an error, never a silent load.
"""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING

from knot.artifacts._digest import CHUNK_SIZE
from knot.artifacts.protocol import RawReader
from knot.errors import Corrupted

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["VerifiedReader", "corrupted"]


def corrupted(expected: str, actual: str, size: int, where: str) -> Corrupted:
    return Corrupted(
        f"blob {expected} in {where} is corrupted: its {size} stored bytes hash to "
        f"{actual}. It was modified on disk or in the bucket after it was written; "
        "delete it (ArtifactStore.delete) and put the original content again",
        field="digest",
    )


class VerifiedReader(io.RawIOBase):
    """Read a blob's raw bytes, checking the digest when the end is reached.

    Bytes are handed out as they stream, so only a reader that reaches the end
    is verified; download_file and get_bytes always do.
    """

    def __init__(self, raw: RawReader, digest: str, where: str) -> None:
        super().__init__()
        self._raw = raw
        self.digest = digest
        self._where = where
        self._hasher = hashlib.sha256()
        self._size = 0
        self._at_end = False
        self._error: Corrupted | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self._error is not None:
            raise self._error
        if self._at_end:
            return 0
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        if not data:
            self._check()
            return 0
        count = len(data)
        view[:count] = data
        self._hasher.update(data)
        self._size += count
        return count

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(CHUNK_SIZE):
            chunks.append(chunk)
        return b"".join(chunks)

    def _check(self) -> None:
        self._at_end = True
        actual = "sha256:" + self._hasher.hexdigest()
        if actual != self.digest:
            self._error = corrupted(self.digest, actual, self._size, self._where)
            raise self._error

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
