"""A live `knot server` whose artifact store is S3 (SeaweedFS) hands out presigned URLs:
a client with no S3 credentials registers and loads a dataset, its bytes going to and
from the bucket directly; an upload that does not match its digest or size is deleted
on commit, and nothing is stored under the blob's key."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from knot.backends import open_data_store, open_tracking_store
from knot.client.rest_blobs import RestBlobs
from knot.data.protocol import DataStore
from tests.artifacts.seaweedfs import ACCESS_KEY, SECRET_KEY, S3Server
from tests.data.conftest import customers
from tests.server.live import LiveServer, start_server

pytestmark = [pytest.mark.s3, pytest.mark.server]


@dataclass
class S3Knot:
    server: LiveServer
    s3: Any  # a boto3 client of the bucket, to look beneath the server
    bucket: str
    prefix: str

    def keys(self, below: str) -> list[str]:
        found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/{below}")
        return [o["Key"] for o in found.get("Contents", [])]

    def blob_key(self, digest: str) -> str:
        return f"{self.prefix}/blobs/sha256/{digest[7:9]}/{digest[7:]}"


@pytest.fixture(scope="module")
def s3_knot(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Knot]:
    root = tmp_path_factory.mktemp("knot-s3-server")
    prefix = f"server-{uuid.uuid4().hex[:12]}"
    env = {
        "KNOT_S3_ENDPOINT_URL": s3_server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "KNOT_HOME": str(root / "home"),
        "KNOT_AUTH": "0",
    }
    server = start_server(
        f"sqlite:///{root / 'knot.db'}", f"s3://{s3_server.bucket}/{prefix}", env=env
    )
    try:
        yield S3Knot(server, s3_server.client(), s3_server.bucket, prefix)
    finally:
        server.stop()


@pytest.fixture
def store(s3_knot: S3Knot, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataStore]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KNOT_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)  # the client needs no S3 credentials
    tracking = open_tracking_store(s3_knot.server.url)
    yield open_data_store(s3_knot.server.url, tracking, _no_artifacts)
    tracking.close()


def _no_artifacts() -> object:
    raise AssertionError("a remote data store must not open a local artifact store")


def test_datasets_travel_through_presigned_urls(s3_knot: S3Knot, store: DataStore) -> None:
    version = store.register("churn", customers())
    assert s3_knot.keys("blobs/") == [s3_knot.blob_key(version.digest)]
    assert s3_knot.keys("uploads/") == []  # the staging object is gone after commit
    assert store.read_table("churn@1").num_rows == 200
    assert store.profile("churn@1").rows == 200  # the server reads the bucket itself
    assert not store.validate("churn@1", {"columns": {"age": {"max": 40}}}).passed
    direct = httpx.get(f"{s3_knot.server.url}/api/v1/blobs/{version.digest}")
    assert direct.status_code == 307
    assert direct.headers["location"].startswith(str(s3_knot.s3.meta.endpoint_url))


def test_a_presigned_upload_is_checked_on_commit(s3_knot: S3Knot, tmp_path: Path) -> None:
    data = b"meant for the bucket " + uuid.uuid4().hex.encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    api = f"{s3_knot.server.url}/api/v1/blobs/{digest}/uploads"
    cases = [
        (data.upper(), len(data), "hash to"),
        (data + b"!", len(data), f"longer than the {len(data)} bytes"),
        (data[:-1], len(data), f"has {len(data) - 1} of the {len(data)} bytes"),
    ]
    for sent, size, message in cases:
        offer = httpx.post(api, json={"size": size}).json()
        assert offer["present"] is False and offer["url"]
        httpx.put(offer["url"], content=sent).raise_for_status()
        refused = httpx.post(f"{api}/{offer['upload_id']}", json={"size": size})
        assert refused.status_code == 422 and message in refused.json()["message"]
    # no blob under the name: the module's server holds other tests' blobs, one of which
    # may share this random digest's two-character folder (1 in 256)
    assert s3_knot.keys(s3_knot.blob_key(digest)[len(s3_knot.prefix) + 1 :]) == []
    assert s3_knot.keys("uploads/") == []

    bad_id = httpx.post(f"{api}/..%2F..%2Fblobs", json={"size": 1})
    assert bad_id.status_code in (404, 422)
    made_up = httpx.post(f"{api}/{uuid.uuid4().hex}", json={"size": 1})
    assert made_up.status_code == 404 and "has no object" in made_up.json()["message"]
    odd_id = httpx.post(f"{api}/{'x' * 32}", json={"size": 1})
    assert odd_id.status_code == 422 and "is not one this server gives out" in odd_id.text

    source = tmp_path / "blob"
    source.write_bytes(data)
    with httpx.Client() as client:
        blobs = RestBlobs(s3_knot.server.url, client)
        assert blobs.upload(source) == digest
        assert blobs.exists(digest)
        assert blobs.download(digest, tmp_path / "back").read_bytes() == data
