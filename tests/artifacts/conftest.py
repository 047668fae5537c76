"""Fixtures: `blob_store` opens a fresh ArtifactStore on every backend (local folder
and a real SeaweedFS S3 server started once per session), and `raw` reaches the
storage underneath it, so tests can list and damage what a backend really wrote."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Protocol

import pytest

from knot.artifacts import ArtifactStore, LocalBlobStore, S3BlobStore, open_blob_store
from tests.artifacts.seaweedfs import (
    ACCESS_KEY,
    SECRET_KEY,
    S3Server,
)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def blob_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ArtifactStore:
    """A fresh, empty store on each backend, opened through its URI."""
    if request.param == "local":
        return open_blob_store((tmp_path / "store").as_uri())
    server: S3Server = request.getfixturevalue("s3_server")
    monkeypatch.setenv("KNOT_S3_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return open_blob_store(f"s3://{server.bucket}/test-{uuid.uuid4().hex[:12]}")


class RawStorage(Protocol):
    """The storage below a store, reached without going through it."""

    def keys(self) -> list[str]:
        """Every stored object, relative to the store's root (e.g. blobs/sha256/ab/ab...)."""
        ...

    def overwrite(self, digest: str, data: bytes) -> None:
        """Replace the bytes stored under `digest`, as a disk fault or a person might."""
        ...


class _LocalRaw:
    def __init__(self, backend: LocalBlobStore) -> None:
        self.root = backend.root

    def keys(self) -> list[str]:
        blobs = self.root / "blobs"
        return sorted(p.relative_to(self.root).as_posix() for p in blobs.rglob("*") if p.is_file())

    def overwrite(self, digest: str, data: bytes) -> None:
        hex_part = digest.removeprefix("sha256:")
        (self.root / "blobs" / "sha256" / hex_part[:2] / hex_part).write_bytes(data)


class _S3Raw:
    def __init__(self, backend: S3BlobStore, server: S3Server) -> None:
        self.backend = backend
        self.client = server.client()

    def keys(self) -> list[str]:
        prefix = self.backend.prefix + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.backend.bucket, Prefix=prefix
        )
        found = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        return sorted(key.removeprefix(prefix) for key in found)

    def overwrite(self, digest: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.backend.bucket, Key=self.backend.key(digest), Body=data)


@pytest.fixture
def raw(blob_store: ArtifactStore, request: pytest.FixtureRequest) -> RawStorage:
    backend = blob_store.backend
    if isinstance(backend, LocalBlobStore):
        return _LocalRaw(backend)
    assert isinstance(backend, S3BlobStore)
    return _S3Raw(backend, request.getfixturevalue("s3_server"))
