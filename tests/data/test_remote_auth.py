"""Datasets on a real `knot server --auth`: a viewer reads (versions, profiles, diffs,
reports, rows) but cannot register, alias, attach rules or validate; an editor can;
refused writes change nothing. The same server has a small upload limit, so an
oversize blob is refused with the limit and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from knot.artifacts import digest_file
from knot.backends import open_data_store, open_tracking_store
from knot.client._http import make_client
from knot.client.rest_blobs import RestBlobs
from knot.data.protocol import DataStore
from knot.data.tables import dataset_aliases, dataset_versions, validation_reports
from knot.errors import Invalid
from knot.governance.roles import Forbidden, Unauthorized
from knot.governance.tokens import create_token
from knot.store.database import Database
from tests.server.live import LiveServer, start_server

pytestmark = pytest.mark.server

LIMIT = 200_000
RULES = {"columns": {"age": {"max": 60}}}


@dataclass
class AuthServer:
    server: LiveServer
    db: Database
    tokens: dict[str, str]

    def store(self, role: str, monkeypatch: pytest.MonkeyPatch) -> DataStore:
        """A data store that sends the token of `role` (the client reads KNOT_TOKEN)."""
        monkeypatch.setenv("KNOT_TOKEN", self.tokens[role])
        tracking = open_tracking_store(self.server.url)
        return open_data_store(self.server.url, tracking, _no_artifacts)

    def counts(self) -> tuple[int, int, int]:
        with self.db.read() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                for t in (dataset_versions, dataset_aliases, validation_reports)
            )


def _no_artifacts() -> object:
    raise AssertionError("a remote data store must not open a local artifact store")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    root = tmp_path_factory.mktemp("knot-auth-data")
    uri = f"sqlite:///{root / 'knot.db'}"
    db = Database(uri)
    tokens = {role: create_token(db, f"{role}-token", role)[1] for role in ("viewer", "editor")}
    env = {"KNOT_AUTH": "1", "KNOT_MAX_BLOB_BYTES": str(LIMIT), "KNOT_HOME": str(root / "home")}
    server = start_server(uri, f"file://{root / 'artifacts'}", env=env)
    try:
        yield AuthServer(server, db, tokens)
    finally:
        server.stop()
        db.close()


def test_a_viewer_reads_and_an_editor_writes(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame
) -> None:
    editor = auth_server.store("editor", monkeypatch)
    first = editor.register("churn", frame, rules={"columns": {"age": {"min": 18}}})
    second = editor.register("churn", frame.assign(spend=frame.spend * 2))
    assert (first.ref, second.ref) == ("churn@1", "churn@2")
    assert editor.set_alias("churn@1", "prod").ref == "churn@1"
    report = editor.validate("churn@2", RULES)
    assert not report.passed and report.failed[0].examples  # failing rows come back
    before = auth_server.counts()

    viewer = auth_server.store("viewer", monkeypatch)
    assert [v.ref for v in viewer.versions("churn")] == ["churn@1", "churn@2"]
    assert viewer.get("churn@prod").digest == first.digest
    assert viewer.profile("churn@1").rows == 200
    assert viewer.diff("churn@1", "churn@2").changed_stats
    assert [r.report_id for r in viewer.reports("churn@2")] == [second.report_id, report.report_id]
    assert viewer.read_table("churn@1", ["age"]).num_rows == 200
    assert viewer.rules("churn") is not None
    refused = [
        lambda: viewer.register("churn", frame.head(7)),
        lambda: viewer.set_alias("churn@2", "prod"),
        lambda: viewer.set_rules("churn", None),
        lambda: viewer.validate("churn@1", RULES),
    ]
    for call in refused:
        with pytest.raises(Forbidden, match="'viewer-token' has role 'viewer'"):
            call()
    assert auth_server.counts() == before
    assert viewer.get("churn@prod").version == 1

    monkeypatch.delenv("KNOT_TOKEN")
    anonymous = open_data_store(
        auth_server.server.url, open_tracking_store(auth_server.server.url), _no_artifacts
    )
    with pytest.raises(Unauthorized, match="requires a token"):
        anonymous.list_datasets()


def test_an_oversize_upload_names_the_limit_and_stores_nothing(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    editor = auth_server.store("editor", monkeypatch)
    big = pd.DataFrame({"x": np.random.default_rng(7).random(LIMIT // 4)})
    before = auth_server.counts()
    with pytest.raises(Invalid, match=f"over this server's limit of {LIMIT}.*KNOT_MAX_BLOB_BYTES"):
        editor.register("big", big)
    assert auth_server.counts() == before
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x01" * (LIMIT + 1))
    monkeypatch.setenv("KNOT_TOKEN", auth_server.tokens["editor"])
    with make_client(auth_server.server.url) as client:
        blobs = RestBlobs(auth_server.server.url, client)
        with pytest.raises(Invalid, match=f"{LIMIT + 1} bytes, over"):
            blobs.upload(blob)
        assert not blobs.exists(digest_file(blob))


def test_the_servers_artifact_store_needs_an_editor_to_write_and_a_viewer_to_read(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Artifact URI http:// (what a client of the server uses for run artifacts and
    models) carries KNOT_TOKEN: a viewer reads, and cannot store or drop a blob."""
    from knot.artifacts import open_blob_store

    monkeypatch.setenv("KNOT_TOKEN", auth_server.tokens["editor"])
    digest = open_blob_store(auth_server.server.url).put_bytes(b"model weights")
    monkeypatch.setenv("KNOT_TOKEN", auth_server.tokens["viewer"])
    viewer = open_blob_store(auth_server.server.url)
    assert viewer.get_bytes(digest) == b"model weights"
    with pytest.raises(Forbidden, match="'viewer-token' has role 'viewer'"):
        viewer.put_bytes(b"not allowed")
    with pytest.raises(Forbidden, match="'viewer-token' has role 'viewer'"):
        viewer.delete(digest)
    assert viewer.get_bytes(digest) == b"model weights"
    monkeypatch.delenv("KNOT_TOKEN")
    with pytest.raises(Unauthorized, match="requires a token"):
        open_blob_store(auth_server.server.url).exists(digest)
