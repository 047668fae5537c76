"""Opening a store by URI, digest parsing and the public surface."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import knot.artifacts
from knot.artifacts import (
    LocalBlobStore,
    S3BlobStore,
    check_digest,
    digest_bytes,
    digest_file,
    is_digest,
    open_blob_store,
)
from knot.errors import Invalid


def test_public_surface_is_sorted() -> None:
    assert knot.artifacts.__all__ == sorted(knot.artifacts.__all__)
    assert all(hasattr(knot.artifacts, name) for name in knot.artifacts.__all__)


def test_file_uri_and_plain_path_open_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_uri = open_blob_store((tmp_path / "a").as_uri())
    assert isinstance(by_uri.backend, LocalBlobStore)
    assert by_uri.backend.root == tmp_path / "a"
    assert open_blob_store(by_uri.uri).uri == by_uri.uri
    assert open_blob_store(str(tmp_path / "b")).uri == (tmp_path / "b").as_uri()
    monkeypatch.chdir(tmp_path)
    assert open_blob_store("relative/dir").uri == (tmp_path / "relative" / "dir").as_uri()


def test_default_uri_comes_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOT_ARTIFACTS", (tmp_path / "default").as_uri())
    assert open_blob_store().uri == (tmp_path / "default").as_uri()


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://bucket-1/some/prefix/", "bucket-1", "some/prefix"),
        ("s3://my.bucket", "my.bucket", ""),
    ],
)
def test_s3_uri_opens_s3(uri: str, bucket: str, prefix: str) -> None:
    backend = open_blob_store(uri).backend
    assert isinstance(backend, S3BlobStore)
    assert (backend.bucket, backend.prefix) == (bucket, prefix)
    assert backend.key(digest_bytes(b"")).startswith(
        f"{prefix}/blobs/sha256/e3/e3b0" if prefix else "blobs/"
    )


@pytest.mark.parametrize(
    "uri",
    ["", "   ", "ftp://host/x", "file://host/x", "file:relative", "file:///x?y=1", "s3://",
     "s3:///prefix", "s3://Bad_Bucket/x", "s3://ab/x", "s3://a..b/x", "s3://bucket/x#frag",
     "postgresql://localhost/db"],
)  # fmt: skip
def test_bad_uri_is_invalid(uri: str) -> None:
    with pytest.raises(Invalid) as caught:
        open_blob_store(uri)
    assert repr(uri) in caught.value.message
    assert "file:///" in caught.value.message and "s3://bucket/prefix" in caught.value.message
    assert caught.value.field == "artifacts_uri"


def test_digest_helpers(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc" * 1_000_000)
    assert digest_file(tmp_path / "f") == digest_bytes(b"abc" * 1_000_000)
    assert check_digest(digest_bytes(b"x")) == digest_bytes(b"x")
    with pytest.raises(Invalid, match="'nope' is not a blob digest"):
        check_digest("nope")
    with pytest.raises(Invalid, match="expected 'sha256:'"):
        check_digest(None)


@given(st.text(max_size=80))
def test_only_canonical_digests_are_accepted(value: str) -> None:
    canonical = (
        value.startswith("sha256:")
        and len(value) == 71
        and set(value[7:]) <= set("0123456789abcdef")
    )
    assert is_digest(value) == canonical


def test_import_does_not_load_boto3() -> None:
    code = "import sys, knot.artifacts; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
