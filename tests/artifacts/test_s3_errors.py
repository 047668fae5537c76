"""S3 failures that only S3 has (credentials, buckets, reachability) become Knot errors
that say what to check, never a raw botocore traceback."""

from __future__ import annotations

import pytest

from knot.artifacts import digest_bytes, open_blob_store
from knot.errors import NotFound, Unavailable
from tests.artifacts.seaweedfs import ACCESS_KEY, SECRET_KEY, S3Server
from tests.servers import free_port

pytestmark = pytest.mark.s3


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_env(s3_server: S3Server, credentials: None) -> S3Server:
    return s3_server


def test_wrong_secret_is_unavailable(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOT_S3_ENDPOINT_URL", s3_env.endpoint)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    store = open_blob_store(f"s3://{s3_env.bucket}/denied")
    with pytest.raises(Unavailable, match="AWS_SECRET_ACCESS_KEY"):
        store.put_bytes(b"x")


def test_missing_bucket_is_not_found(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOT_S3_ENDPOINT_URL", s3_env.endpoint)
    store = open_blob_store("s3://no-such-bucket-here/x")
    with pytest.raises(NotFound, match=r"bucket 'no-such-bucket-here' .* does not exist"):
        store.get_bytes(digest_bytes(b"x"))


def test_unreachable_endpoint_is_unavailable(
    credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.delenv("KNOT_S3_ENDPOINT_URL", raising=False)
    store = open_blob_store("s3://bucket/x")
    with pytest.raises(Unavailable, match=endpoint):
        store.exists(digest_bytes(b"x"))
