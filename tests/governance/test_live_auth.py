"""A real `knot server` with KNOT_AUTH=1: the remote clients send KNOT_TOKEN, requests
without one are refused with the fix, and Uvicorn's thread pool keeps the token's
identity, so the audit log names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knot.cli import app
from knot.client.rest_governance import RestGovernance
from knot.client.rest_store import RestTrackingStore
from knot.errors import KnotError
from knot.governance.audit_query import AuditQuery, query
from knot.governance.lineage import add_edges
from knot.governance.roles import Unauthorized
from knot.governance.tokens import create_token
from knot.store.database import Database
from tests.governance.test_lineage import EDGES, RUN_B
from tests.server.live import start_server

pytestmark = pytest.mark.server


def test_a_real_server_requires_tokens_and_audits_their_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    db = Database(uri)
    _, editor = create_token(db, "ci-bot", "editor")
    _, viewer = create_token(db, "ana", "viewer")
    with db.write() as conn:
        add_edges(conn, EDGES)
    server = start_server(uri, f"file://{tmp_path / 'artifacts'}", env={"KNOT_AUTH": "1"})
    try:
        assert "tokens required" in "\n".join(server.output)
        monkeypatch.delenv("KNOT_TOKEN", raising=False)
        anonymous = RestTrackingStore(server.url)
        with pytest.raises(KnotError, match="knot tokens create"):
            anonymous.list_experiments()
        anonymous.close()
        with pytest.raises(Unauthorized, match="requires a token"):
            RestGovernance(server.url).lineage("models:/churn/3")

        monkeypatch.setenv("KNOT_TOKEN", editor)
        writer = RestTrackingStore(server.url)
        experiment = writer.create_experiment("served")
        run = writer.create_run(experiment.experiment_id, user="whoever-the-client-says")
        writer.close()

        monkeypatch.setenv("KNOT_TOKEN", viewer)
        reader = RestTrackingStore(server.url)
        assert [r.run_id for r in reader.search_runs([experiment.experiment_id]).runs] == [
            run.run_id
        ]  # a search is a POST that only reads: viewers may
        with pytest.raises(KnotError, match="'ana' has role 'viewer'"):
            reader.create_experiment("not allowed")
        reader.close()
        governance = RestGovernance(server.url)
        graph = governance.lineage("models:/churn/3", direction="up")
        assert f"run:{RUN_B}" in {n.key for n in graph.nodes}
        assert governance.verify_audit() == []
        governance.close()

        runner = CliRunner(env={"KNOT_STORE": server.url, "KNOT_TOKEN": viewer})
        out = runner.invoke(app, ["audit", "log", "--actor", "ci-bot", "--json"])
        assert out.exit_code == 0, out.output
        assert [(r["action"], r["entity_kind"]) for r in json.loads(out.output)] == [
            ("create", "experiment"),
            ("create", "run"),
        ]
        shown = runner.invoke(app, ["lineage", "models:/churn/3"])
        assert shown.exit_code == 0 and RUN_B in shown.output
    finally:
        server.stop()
    with db.read() as conn:
        actors = {(r.entity_kind, r.actor) for r in query(conn, AuditQuery())}
    db.close()
    assert ("experiment", "ci-bot") in actors and ("run", "ci-bot") in actors
    assert not any(kind == "experiment" and actor == "ana" for kind, actor in actors)
