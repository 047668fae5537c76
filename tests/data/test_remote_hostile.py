"""Hostile requests to the live server's blob and data routes, sent as raw HTTP: each
is a 4xx that names what was wrong, and leaves the store and artifact store unchanged."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from knot.artifacts import open_blob_store
from knot.backends import open_data_store, open_tracking_store
from knot.client.rest_blobs import RestBlobs
from knot.data.protocol import DataStore
from knot.data.tables import dataset_versions, datasets
from knot.errors import Corrupted
from knot.governance.tables import lineage_edges
from knot.store.database import Database
from tests.backends import StoreBackend

pytestmark = pytest.mark.server


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def http(remote_backend: StoreBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=remote_backend.uri + "/api/v1") as client:
        yield client


@pytest.fixture
def store(remote_backend: StoreBackend) -> Iterator[DataStore]:
    tracking = open_tracking_store(remote_backend.uri)
    artifacts = open_blob_store(remote_backend.artifacts_uri)
    yield open_data_store(remote_backend.uri, tracking, lambda: artifacts)
    tracking.close()


@pytest.fixture
def db(remote_backend: StoreBackend) -> Iterator[Database]:
    database = Database(remote_backend.db_uri)
    yield database
    database.close()


def _rows(db: Database) -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in (datasets, dataset_versions, lineage_edges)
        )


def _error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["message"], body
    return body


def _leftovers(remote_backend: StoreBackend) -> list[Path]:
    root = Path(remote_backend.artifacts_uri.removeprefix("file://"))
    return sorted((root / "tmp").glob(".knot-upload-*"))


# blobs -------------------------------------------------------------------------------
def test_upload_download_and_ask(http: httpx.Client, remote_backend: StoreBackend) -> None:
    data = b"knot blob " + remote_backend.db_uri.encode()  # new per session
    digest = _digest(data)
    assert http.head(f"/blobs/{digest}").status_code == 404
    stored = http.put(f"/blobs/{digest}", content=data, params={"size": len(data)})
    assert stored.status_code == 200 and stored.json() == {
        "digest": digest,
        "size": len(data),
        "stored": True,
    }
    again = http.put(f"/blobs/{digest}", content=data)
    assert again.json()["stored"] is False
    head = http.head(f"/blobs/{digest}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert http.get(f"/blobs/{digest}").content == data


def test_an_upload_that_does_not_match_its_digest_or_size_stores_nothing(
    http: httpx.Client, remote_backend: StoreBackend
) -> None:
    data = b"the bytes that were meant " + remote_backend.db_uri.encode()
    digest = _digest(data)
    tampered = data.replace(b"meant", b"MEANT")
    body = _error(
        http.put(f"/blobs/{digest}", content=tampered), 422, "hash to", _digest(tampered), digest
    )
    assert body["field"] == "digest"
    _error(
        http.put(f"/blobs/{digest}", content=data, params={"size": 5}),
        422,
        "longer than the 5 bytes",
    )
    _error(
        http.put(f"/blobs/{digest}", content=data, params={"size": len(data) + 10}),
        422,
        f"ended after {len(data)} of the {len(data) + 10} bytes",
    )
    assert http.head(f"/blobs/{digest}").status_code == 404
    assert not open_blob_store(remote_backend.artifacts_uri).exists(digest)
    assert _leftovers(remote_backend) == []


@pytest.mark.parametrize(
    "digest", ["sha256:abc", "md5:" + "0" * 32, "sha256:" + "G" * 64, "sha256:.."]
)
def test_bad_digests_are_named(http: httpx.Client, digest: str) -> None:
    for response in (
        http.put(f"/blobs/{digest}", content=b"x"),
        http.get(f"/blobs/{digest}"),
    ):
        _error(response, 422, "is not a blob digest", "sha256:")
    assert http.head(f"/blobs/{digest}").status_code == 422


def test_a_path_for_a_digest_finds_no_route(http: httpx.Client) -> None:
    _error(http.get("/blobs/..%2F..%2Fetc%2Fpasswd"), 404, "no route GET")


def test_an_unknown_blob_is_404_naming_it(http: httpx.Client, tmp_path: Path) -> None:
    digest = _digest(b"never uploaded")
    _error(http.get(f"/blobs/{digest}"), 404, digest)


def test_the_client_refuses_a_damaged_download(
    http: httpx.Client, remote_backend: StoreBackend, tmp_path: Path
) -> None:
    data = b"to be damaged on the server " + remote_backend.db_uri.encode()
    blobs = RestBlobs(remote_backend.uri, http)
    source = tmp_path / "blob"
    source.write_bytes(data)
    digest = blobs.upload(source)
    assert blobs.download(digest, tmp_path / "back").read_bytes() == data
    stored = Path(remote_backend.artifacts_uri.removeprefix("file://")) / "blobs/sha256"
    path = stored / digest[7:9] / digest[7:]
    path.write_bytes(data.upper())
    try:
        with pytest.raises(Corrupted, match=f"blob {digest} from .* arrived as"):
            blobs.download(digest, tmp_path / "damaged")
        assert not (tmp_path / "damaged").exists()
    finally:
        path.write_bytes(data)


# data routes -------------------------------------------------------------------------
def _parquet(frame: pd.DataFrame, **options: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out, **options)
    return out.getvalue()


def test_registering_needs_an_uploaded_canonical_blob(
    http: httpx.Client, db: Database, frame: pd.DataFrame
) -> None:
    before = _rows(db)
    missing = _digest(b"not uploaded")
    _error(
        http.post("/datasets/churn/versions", json={"digest": missing}),
        404,
        f"no blob {missing}",
        "PUT /api/v1/blobs/",
    )
    raw = _parquet(frame, compression="gzip", row_group_size=17)  # valid, not canonical
    http.put(f"/blobs/{_digest(raw)}", content=raw).raise_for_status()
    _error(
        http.post("/datasets/churn/versions", json={"digest": _digest(raw)}),
        422,
        "not a dataset in Knot's canonical Parquet form",
    )
    garbage = b"\x00\xff garbage that is no table"
    http.put(f"/blobs/{_digest(garbage)}", content=garbage).raise_for_status()
    body = _error(http.post("/datasets/churn/versions", json={"digest": _digest(garbage)}), 422)
    assert _digest(garbage) in body["message"] and "/blobs/" not in body["message"]
    assert _rows(db) == before


@pytest.mark.parametrize(
    ("path", "payload", "status", "words"),
    [
        ("/datasets/a%20b/versions", {"digest": "sha256:" + "0" * 64}, 422, ["'a b'"]),
        ("/datasets/churn/versions", {"digest": "nope"}, 422, ["'nope'", "not a blob digest"]),
        ("/datasets/churn/versions", {"digest": "sha256:" + "0" * 64, "extra": 1}, 422, ["extra"]),
        (
            "/datasets/churn/versions",
            {"digest": "sha256:" + "0" * 64, "rules": {"columns": {"age": {"nul": True}}}},
            422,
            ["unknown field 'nul'"],
        ),
        (
            "/datasets/churn/versions",
            {"digest": "sha256:" + "0" * 64, "run_id": "no-such-run"},
            404,
            ["no-such-run"],
        ),
        ("/dataset-versions/inputs", {"ref": "churn@1", "run_id": "x"}, 404, ["churn"]),
        ("/dataset-versions/validate", {"ref": "churn@0"}, 422, ["version 0"]),
        ("/dataset-versions/validate", {"ref": "churn", "examples": 10**6}, 422, ["examples"]),
    ],
)
def test_bad_writes_are_refused_and_change_nothing(
    http: httpx.Client, db: Database, path: str, payload: Any, status: int, words: list[str]
) -> None:
    before = _rows(db)
    _error(http.post(path, json=payload), status, *words)
    assert _rows(db) == before


def test_bad_refs_names_and_aliases(
    http: httpx.Client, store: DataStore, db: Database, frame: pd.DataFrame
) -> None:
    store.register("churn", frame)
    store.register("other", frame.head(5))
    before = _rows(db)
    _error(http.get("/dataset-versions", params={"ref": "churn@9"}), 404, "no version 9")
    _error(http.get("/dataset-versions", params={"ref": "../etc@1"}), 422, "'../etc'")
    _error(http.get("/dataset-versions/diff", params={"a": "churn@1", "b": "nope@1"}), 404, "nope")
    _error(http.get("/dataset-versions/profile"), 422, "ref")
    _error(http.get("/datasets/nope/rules"), 404, "'nope'")
    _error(http.put("/datasets/nope/rules", json={"rules": None}), 404, "'nope'")
    _error(
        http.put("/datasets/churn/aliases/prod", json={"ref": "other@1"}),
        422,
        "names dataset 'other', not 'churn'",
    )
    _error(http.put("/datasets/churn/aliases/latest", json={"ref": "churn@1"}), 422, "'latest'")
    _error(http.put("/datasets/churn/aliases/a%20b", json={"ref": "churn@1"}), 422, "'a b'")
    _error(http.get("/runs/nope/dataset-inputs"), 404, "'nope'")
    assert _rows(db) == before
    assert store.list_datasets()[0].aliases == {}
