"""The loop and pipeline routes on a real `knot server` with auth on (KNOT_AUTH=1, what
`--auth` sets): a viewer reads a model's loop and pipeline records but cannot take a
lease, move a loop, ask for a retraining or record an execution; an editor can, and
the audit log names the editor's token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from knot.client.rest_governance import RestGovernance
from knot.client.rest_loop import RestLoop
from knot.client.rest_pipelines import RestPipelines
from knot.governance.audit_query import AuditQuery
from knot.governance.roles import Forbidden
from knot.governance.tokens import create_token
from knot.loop.protocol import Move
from knot.loop.state import State
from knot.store.database import Database
from tests.server.live import start_server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A server with auth on, and a viewer's and an editor's token for it."""
    root = tmp_path_factory.mktemp("auth-server")
    uri = f"sqlite:///{root / 'knot.db'}"
    db = Database(uri)
    tokens = {role: create_token(db, f"{role}-bot", role)[1] for role in ("viewer", "editor")}
    db.close()
    server = start_server(uri, f"file://{root / 'artifacts'}", env={"KNOT_AUTH": "1"})
    try:
        yield server.url, tokens
    finally:
        server.stop()


def as_role(monkeypatch: pytest.MonkeyPatch, tokens: dict[str, str], role: str) -> None:
    monkeypatch.setenv("KNOT_TOKEN", tokens[role])  # read when a client is made


def start_move(owner: str) -> Move:
    return Move(
        model="churn",
        owner=owner,
        before=State.IDLE,
        before_retrain=None,
        to=State.TRAINING,
        retrain_id=uuid.uuid4().hex,
        detail={},
        start=[{"kind": "manual"}],
    )


def test_a_viewer_reads_the_loop_but_cannot_lease_move_or_request(
    auth_server: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, tokens = auth_server
    as_role(monkeypatch, tokens, "viewer")
    viewer = RestLoop(url)
    for attempt in (
        lambda: viewer.acquire("churn", "v", 60_000),
        lambda: viewer.request_manual("churn"),
        lambda: viewer.move(start_move("v")),
        lambda: viewer.seed_cursors("churn", {"schedule": "1"}),
    ):
        with pytest.raises(Forbidden, match="'viewer-bot' has role 'viewer'"):
            attempt()
    assert viewer.read_state("churn") is None and viewer.read_cursors("churn") == {}

    as_role(monkeypatch, tokens, "editor")
    editor = RestLoop(url)
    assert editor.acquire("churn", "e", 60_000) is not None
    at = editor.request_manual("churn")
    editor.move(start_move("e"))
    state = viewer.read_state("churn")
    assert state is not None and (state.owner, state.state) == ("e", State.TRAINING)
    assert viewer.read_cursors("churn") == {"manual": str(at)}
    assert [r.owner for r in viewer.list_retrains("churn")] == ["e"]
    audit = RestGovernance(url).audit_log(AuditQuery(action="loop.lease"))
    assert [r.actor for r in audit] == ["editor-bot"]
    for client in (viewer, editor):
        client.close()


def test_a_viewer_reads_pipeline_records_but_cannot_write_them(
    auth_server: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, tokens = auth_server
    run_id = uuid.uuid4().hex

    def start(records: RestPipelines) -> None:
        records.start_execution(
            run_id=run_id,
            pipeline="greeting",
            executor="inprocess",
            params={},
            resumed_from=None,
            nodes=[("greet", "greet", ())],
        )

    as_role(monkeypatch, tokens, "viewer")
    viewer = RestPipelines(url)
    with pytest.raises(Forbidden, match="'viewer-bot' has role 'viewer'"):
        start(viewer)
    assert viewer.lookup("d" * 64) is None  # reading is allowed
    as_role(monkeypatch, tokens, "editor")
    editor = RestPipelines(url)
    start(editor)
    as_role(monkeypatch, tokens, "viewer")
    with pytest.raises(Forbidden, match="'viewer-bot' has role 'viewer'"):
        RestPipelines(url).end_execution(run_id, "failed", "a viewer tried")
    assert viewer.load_execution(run_id).status == "running"
    editor.end_execution(run_id, "finished", None)
    assert viewer.load_execution(run_id).status == "finished"
    for client in (viewer, editor):
        client.close()
