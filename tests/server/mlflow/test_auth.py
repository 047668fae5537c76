"""`knot server --auth`: MLflow's client sends MLFLOW_TRACKING_TOKEN as a bearer token,
the MLflow routes take Knot's tokens and roles (a viewer reads, searches included, and
cannot write), refusals come in MLflow's shape, and the audit log names the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from knot.governance.audit_query import AuditQuery, query
from knot.governance.tokens import create_token
from knot.store.database import Database
from tests.server.live import LiveServer, start_server

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.server
Secured = tuple[LiveServer, Database, dict[str, str]]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("mlflow-auth")
    uri = f"sqlite:///{root / 'knot.db'}"
    db = Database(uri)
    tokens = {role: create_token(db, f"{role}-token", role)[1] for role in ("viewer", "editor")}
    server = start_server(uri, f"file://{root / 'artifacts'}", env={"KNOT_AUTH": "1"})
    yield server, db, tokens
    server.stop()
    db.close()


def _client(monkeypatch: pytest.MonkeyPatch, url: str, token: str | None) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    if token is None:
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_roles_apply_to_mlflow_routes(
    auth_server: Secured, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, db, tokens = auth_server
    anonymous = _client(monkeypatch, server.url, None)
    with pytest.raises(MlflowException, match="requires a token") as refused:
        anonymous.search_experiments()
    assert refused.value.error_code == "UNAUTHENTICATED"

    editor = _client(monkeypatch, server.url, tokens["editor"])
    experiment_id = editor.create_experiment("secured")
    run = editor.create_run(experiment_id, tags={"mlflow.user": "someone-else"})
    editor.log_metric(run.info.run_id, "auc", 0.9)
    (tmp_path / "notes.txt").write_text("ok")
    editor.log_artifact(run.info.run_id, str(tmp_path / "notes.txt"))
    assert editor.get_run(run.info.run_id).info.user_id == "editor-token"

    viewer = _client(monkeypatch, server.url, tokens["viewer"])
    assert [r.info.run_id for r in viewer.search_runs([experiment_id])] == [run.info.run_id]
    assert viewer.get_experiment_by_name("secured").experiment_id == experiment_id
    assert [f.path for f in viewer.list_artifacts(run.info.run_id)] == ["notes.txt"]
    with pytest.raises(MlflowException, match="'viewer-token' has role 'viewer'") as denied:
        viewer.log_metric(run.info.run_id, "auc", 0.1)
    assert denied.value.error_code == "PERMISSION_DENIED"
    # MLflow's artifact client raises requests' error, with the body in its message
    with pytest.raises(requests.HTTPError, match="PERMISSION_DENIED"):
        viewer.log_artifact(run.info.run_id, str(tmp_path / "notes.txt"), "again")
    with pytest.raises(MlflowException) as no_model:
        viewer.create_registered_model("not-allowed")
    assert no_model.value.error_code == "PERMISSION_DENIED"
    assert len(editor.get_metric_history(run.info.run_id, "auc")) == 1

    with db.read() as conn:
        actors = {(r.entity_kind, r.actor) for r in query(conn, AuditQuery())}
    assert ("run", "editor-token") in actors and ("experiment", "editor-token") in actors
