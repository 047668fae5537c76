"""Pick a blob store backend by URI scheme, so switching storage is a URI, not code.

file:///folder (or a plain folder path) opens LocalBlobStore; s3://bucket/prefix
opens S3BlobStore. register_backend adds a scheme for a new backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from knot.artifacts.local import LocalBlobStore
from knot.artifacts.protocol import BlobStore
from knot.artifacts.s3 import S3BlobStore
from knot.artifacts.store import ArtifactStore
from knot.config import settings
from knot.errors import Invalid

__all__ = ["BackendFactory", "open_blob_store", "register_backend"]

BackendFactory = Callable[[str], BlobStore]
"""Builds a backend from its URI; raises Invalid for a URI it cannot use."""

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _accepted() -> str:
    forms = {"file": "file:///absolute/folder (or a plain folder path)", "s3": "s3://bucket/prefix"}
    return ", ".join(forms.get(scheme, f"{scheme}://...") for scheme in sorted(_BACKENDS))


def _invalid(uri: str, why: str) -> Invalid:
    return Invalid(
        f"artifact store URI {uri!r} {why}; use one of: {_accepted()}", field="artifacts_uri"
    )


def _open_file(uri: str) -> BlobStore:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise _invalid(uri, f"names host {parts.netloc!r}, but file URIs need an absolute path")
    path = unquote(parts.path)
    if not path.startswith("/") or parts.query or parts.fragment:
        raise _invalid(uri, "is not file:// followed by an absolute path")
    return LocalBlobStore(path)


def _open_s3(uri: str) -> BlobStore:
    parts = urlsplit(uri)
    bucket = parts.netloc
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise _invalid(uri, f"has bucket name {bucket!r}; S3 buckets are 3-63 of a-z 0-9 . -")
    if parts.query or parts.fragment:
        raise _invalid(uri, "has a query or fragment")
    return S3BlobStore(bucket, unquote(parts.path).strip("/"))


_BACKENDS: dict[str, BackendFactory] = {"file": _open_file, "s3": _open_s3}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make `scheme://...` URIs open the backend that `factory` builds."""
    if not re.fullmatch(r"[a-z][a-z0-9+.-]+", scheme):
        raise Invalid(f"URI scheme {scheme!r} must be lowercase letters and digits", field="scheme")
    _BACKENDS[scheme] = factory


def open_blob_store(uri: str | None = None) -> ArtifactStore:
    """Open the artifact store at `uri` (default: settings().artifacts_uri)."""
    if uri is None:
        uri = settings().artifacts_uri
    if not isinstance(uri, str) or not uri.strip():
        raise Invalid(
            f"artifact store URI {uri!r} is empty; use one of: {_accepted()}", field="artifacts_uri"
        )
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise _invalid(uri, f"cannot be parsed ({exc})") from None
    # One letter is a Windows drive (C:\...), not a scheme.
    if len(parts.scheme) <= 1:
        return ArtifactStore(LocalBlobStore(Path(uri).absolute()))
    factory = _BACKENDS.get(parts.scheme.lower())
    if factory is None:
        raise _invalid(uri, f"has unknown scheme {parts.scheme!r}")
    return ArtifactStore(factory(uri))
