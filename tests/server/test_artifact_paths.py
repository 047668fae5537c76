"""POST /runs/{id}/artifacts refuses a path that would leave the run's folder when the
artifact is downloaded: `..`, absolute, NUL, backslash, empty parts. 422 naming the
field, and nothing recorded."""

from __future__ import annotations

import httpx
import pytest

from knot.tracking.sql_store import SqlTrackingStore
from tests.backends import StoreBackend
from tests.server.conftest import TestClient

HOSTILE = ["..", "../escape.txt", "a/../../x", "/etc/passwd", "a\x00b", "a\\..\\b", "a//b", ""]


def _record(path: str) -> dict[str, object]:
    return {"path": path, "digest": "sha256:" + "a" * 64, "size": 3, "kind": "file"}


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_artifact_paths_are_422_and_recorded_nowhere(
    client: TestClient, store: SqlTrackingStore, run_id: str, path: str
) -> None:
    response = client.post(f"/api/v1/runs/{run_id}/artifacts", json=_record(path))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid" and body["field"] == "path", body
    if path:  # the empty path is refused by the schema, before the path rule
        assert repr(path) in body["message"] and "use a relative path" in body["message"]
    assert store.list_artifacts(run_id) == []
    assert client.get(f"/api/v1/runs/{run_id}/artifacts").json() == []


def test_a_safe_path_is_still_recorded(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    response = client.post(f"/api/v1/runs/{run_id}/artifacts", json=_record("model/weights.bin"))
    assert response.status_code == 201, response.text
    assert [a.path for a in store.list_artifacts(run_id)] == ["model/weights.bin"]


@pytest.mark.server
def test_a_real_server_refuses_nul_and_absolute_paths(remote_backend: StoreBackend) -> None:
    with httpx.Client(base_url=remote_backend.uri) as http:
        experiment = http.post("/api/v1/experiments", json={"name": "artifact-paths"}).json()
        created = {"experiment_id": experiment["experiment_id"], "user": "ana"}
        run = http.post("/api/v1/runs", json=created)
        run_id = run.json()["run_id"]
        for path in ("a\x00b", "/etc/passwd", "../../x"):
            response = http.post(f"/api/v1/runs/{run_id}/artifacts", json=_record(path))
            assert response.status_code == 422 and response.json()["field"] == "path"
        assert http.get(f"/api/v1/runs/{run_id}/artifacts").json() == []
