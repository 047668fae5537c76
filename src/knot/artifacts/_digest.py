"""Digests name every blob: "sha256:<64 lowercase hex>".

One place parses, computes and lays out digests so every backend, the folder
manifests and the rest of Knot (datasets, pipeline cache keys) agree on them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

from knot.errors import Invalid

__all__ = [
    "CHUNK_SIZE",
    "blob_key",
    "check_digest",
    "digest_bytes",
    "digest_file",
    "digest_of_chunks",
    "is_digest",
]

CHUNK_SIZE = 1024 * 1024
"""Bytes read, hashed and written at a time, so large files never sit in memory."""

_PREFIX = "sha256:"
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_EXPECTED = "'sha256:' followed by 64 lowercase hex characters"


def is_digest(value: object) -> bool:
    """True if `value` is a well-formed digest string."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def check_digest(value: object, *, field: str = "digest") -> str:
    """Return `value` if it is a well-formed digest, else raise Invalid naming it."""
    if is_digest(value):
        assert isinstance(value, str)
        return value
    shown = repr(value) if len(repr(value)) <= 100 else repr(value)[:97] + "..."
    raise Invalid(
        f"{field} {shown} is not a blob digest; expected {_EXPECTED}, e.g. {digest_bytes(b'')}",
        field=field,
    )


def digest_bytes(data: bytes) -> str:
    """The digest of an in-memory value."""
    return _PREFIX + hashlib.sha256(data).hexdigest()


def digest_of_chunks(chunks: Iterable[bytes]) -> str:
    """The digest of a value delivered in pieces."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return _PREFIX + hasher.hexdigest()


def digest_file(path: str | PathLike[str]) -> str:
    """The digest of a local file, read in CHUNK_SIZE pieces."""
    hasher = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with Path(path).open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
    return _PREFIX + hasher.hexdigest()


def blob_key(digest: str) -> str:
    """Where a blob lives below a backend's root: blobs/sha256/ab/abcdef...

    The two-character fan-out keeps directory listings small on local disks.
    """
    hex_part = check_digest(digest)[len(_PREFIX) :]
    return f"blobs/sha256/{hex_part[:2]}/{hex_part}"
