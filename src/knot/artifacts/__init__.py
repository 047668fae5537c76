"""Knot's content-addressed artifact store: bytes, files and folders named by sha256.

    store = open_blob_store("file:///data/artifacts")   # or s3://bucket/prefix
    digest = store.put_folder("model/")                  # "sha256:..."
    store.download_folder(digest, "restored/")           # verified on the way out

Equal content is stored once, every read is checked against its digest, and a
write is durable and whole before it returns.
"""

from __future__ import annotations

from knot.artifacts._atomic import EarlyWriteback, fsync_dir
from knot.artifacts._digest import check_digest, digest_bytes, digest_file, is_digest
from knot.artifacts._registry import BackendFactory, open_blob_store, register_backend
from knot.artifacts.local import LocalBlobStore
from knot.artifacts.manifest import Manifest, ManifestEntry
from knot.artifacts.protocol import BlobStore, RawReader
from knot.artifacts.s3 import S3BlobStore
from knot.artifacts.store import ArtifactStore, BlobInfo

__all__ = [
    "ArtifactStore",
    "BackendFactory",
    "BlobInfo",
    "BlobStore",
    "EarlyWriteback",
    "LocalBlobStore",
    "Manifest",
    "ManifestEntry",
    "RawReader",
    "S3BlobStore",
    "check_digest",
    "digest_bytes",
    "digest_file",
    "fsync_dir",
    "is_digest",
    "open_blob_store",
    "register_backend",
]
