"""The retrain loop through a live `knot server`: `knot retrain` with KNOT_STORE=http://
runs whole retrainings (its pipeline's steps recorded, and found in the cache, through
the server), two controllers racing through the server retrain once, and bad requests
to the loop routes are refused with what was wrong, changing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.loop.config import LoopConfig
from knot.loop.controller import Controller, Outcome, retrain
from knot.loop.state import State
from knot.loop.stores import loop_store
from tests.backends import StoreBackend

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
KNOT = Path(sys.executable).parent / "knot"
#: promoted at once: no evaluation, no canary; the pipeline is a two-step @knot.pipeline
CONFIG = {"model": "churn", "pipeline": "tests.loop.loop_pipelines:retrain_pipeline"}


@pytest.fixture
def remote(remote_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    remote_backend.use(monkeypatch)
    return remote_backend.uri


def knot_command(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `knot` entry point, with KNOT_STORE (the server) from this test."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [str(KNOT), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_knot_retrain_through_a_server_runs_the_loop_and_its_cached_pipeline(
    remote: str, tmp_path: Path
) -> None:
    config = tmp_path / "loop.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    first = knot_command("retrain", "churn", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert "promoted" in first.stdout
    second = retrain(config)  # in this process, to keep the test short
    assert second is not None and second.status == "promoted"
    retrains = loop_store().list_retrains("churn")
    assert [(r.status, r.challenger_version) for r in retrains] == [
        ("promoted", 1),
        ("promoted", 2),
    ]
    assert knot.get_model("churn").aliases == {"champion": 2}
    runs = [knot.get_pipeline_run(r.run_id or "") for r in retrains]
    assert [{s.name: s.status for s in run.steps} for run in runs] == [
        {"training_rows": "ran", "fit_and_register": "ran"},
        {"training_rows": "cached", "fit_and_register": "ran"},  # found through the server
    ]
    status = CliRunner().invoke(app, ["loop", "status", "churn", "--json"])
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert shown["state"]["state"] == "idle" and shown["state"]["owner"] is None
    assert [r["retrain_id"] for r in shown["retrains"]] == [r.retrain_id for r in retrains]
    records = governance().audit_log(AuditQuery(entity_id=retrains[0].retrain_id))
    assert [r.action for r in records] == ["loop.retrain", "loop.promoted"]
    states = governance().audit_log(AuditQuery(entity_kind="model", action="loop.state"))
    assert [r.after["state"] for r in states] == ["training", "evaluating", "promoting", "idle"] * 2
    graph = knot.lineage("models:/churn/1", direction="up", depth=1)
    assert f"retrain:{retrains[0].retrain_id}" in {n.key for n in graph.nodes}


def test_two_controllers_racing_through_the_server_retrain_once(remote: str) -> None:
    config = LoopConfig.model_validate(
        {**CONFIG, "pipeline": "tests.loop.loop_pipelines:train_good"}
    )
    loop_store().request_manual("churn")
    controllers = [Controller(config, owner=f"controller-{i}") for i in range(2)]
    outcomes: list[Outcome] = []
    start = threading.Barrier(2)

    def work(controller: Controller) -> None:
        start.wait()
        outcomes.append(controller.step())

    threads = [threading.Thread(target=work, args=(c,)) for c in controllers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (retrain,) = loop_store().list_retrains("churn")
    assert retrain.status == "promoted"
    assert [o.finished for o in outcomes].count(retrain.retrain_id) == 1
    assert [o.finished for o in outcomes].count(None) == 1  # found it held, or idle after


def move(**changes: Any) -> dict[str, Any]:
    body = {
        "model": "churn",
        "owner": "a",
        "before": "idle",
        "before_retrain": None,
        "to": "training",
        "retrain_id": uuid.uuid4().hex,
        "detail": {},
        "start": [{"kind": "manual"}],
    }
    return {**body, **changes}


HOSTILE = [
    ("POST", "/lease", {"owner": "a", "ttl_ms": -5}, 422, "ttl_ms"),
    ("POST", "/lease", {"owner": "a", "ttl_ms": "60000"}, 422, "ttl_ms"),
    ("POST", "/lease", {"owner": "", "ttl_ms": 1000}, 422, "owner"),
    ("POST", "/lease", {"owner": "a", "ttl_ms": 1000, "admin": True}, 422, "admin"),
    ("POST", "/lease/heartbeat", {"owner": "b", "ttl_ms": 1000}, 409, "no longer held by b"),
    ("POST", "/moves", move(owner="b"), 409, "b no longer holds its lease"),
    ("POST", "/moves", move(model="other"), 422, "sent to the loop of 'churn'"),
    ("POST", "/moves", move(retrain_id=None), 422, "needs a new retrain_id"),
    ("POST", "/moves", move(retrain_id="../x"), 422, "retrain_id"),
    ("POST", "/moves", move(to="exploded"), 422, "to"),
    ("POST", "/moves", move(before="canary"), 409, "read its state again"),
    ("POST", "/moves", move(start=[{"what": 1}]), 422, "needs a kind"),
    ("POST", "/moves", move(detail={"x": "y" * 200_000}), 422, "detail is"),
    (
        "POST",
        "/moves",
        move(edges=[{"from_kind": "run", "from_id": "r", "relation": "x", "to_kind": "run"}]),
        422,
        "to_id",
    ),
    (
        "POST",
        "/moves",
        move(
            edges=[
                {"from_kind": "a", "from_id": "b", "relation": "c", "to_kind": "d", "to_id": "e"}
            ]
        ),
        422,
        "does not touch the retraining",
    ),
    ("POST", "/moves", move(finish={"status": "promoted", "reason": "x"}), 422, "finish needs"),
    ("POST", "/cursors/seed", {"seeds": {"schedule": "soon"}}, 422, "seeds"),
]


@pytest.mark.parametrize(
    ("method", "tail", "body", "code", "words"), HOSTILE, ids=[h[4] for h in HOSTILE]
)
def test_bad_loop_requests_are_refused_and_change_nothing(
    remote: str, method: str, tail: str, body: dict[str, Any], code: int, words: str
) -> None:
    loop = loop_store()
    assert loop.acquire("churn", "a", 60_000) is not None
    before = loop.read_state("churn")
    response = httpx.request(method, f"{remote}/api/v1/loop/churn{tail}", json=body)
    assert response.status_code == code, response.text
    assert words in response.json()["message"]
    assert loop.read_state("churn") == before
    assert loop.list_retrains("churn") == [] and loop.read_cursors("churn") == {}
    assert governance().audit_log(AuditQuery(action="loop.state")) == []


def test_bad_model_names_and_bodies_are_refused(remote: str) -> None:
    for method, path in [("GET", "/state"), ("POST", "/retrain-requests")]:
        response = httpx.request(method, f"{remote}/api/v1/loop/-bad%20name{path}")
        assert response.status_code == 422, response.text
        assert "model name '-bad name' is not allowed" in response.json()["message"]
    response = httpx.post(
        f"{remote}/api/v1/loop/churn/lease",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]
    assert loop_store().read_state("churn") is None
    assert loop_store().read_cursors("churn") == {}


def test_a_stale_move_after_a_real_one_is_refused(remote: str) -> None:
    """A move read from a state the loop has left is refused even from the holder."""
    loop = loop_store()
    loop.acquire("churn", "a", 60_000)
    first = move()
    assert httpx.post(f"{remote}/api/v1/loop/churn/moves", json=first).status_code == 204
    again = httpx.post(f"{remote}/api/v1/loop/churn/moves", json=move())
    assert again.status_code == 409 and "is training" in again.json()["message"]
    state = loop.read_state("churn")
    assert state is not None and (state.state, state.retrain_id) == (
        State.TRAINING,
        first["retrain_id"],
    )
    assert [r.retrain_id for r in loop.list_retrains("churn")] == [first["retrain_id"]]
