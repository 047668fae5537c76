"""Pipelines through a live `knot server`: `knot pipeline run/show` with
KNOT_STORE=http:// record executions and find cached steps through the server, and bad
requests to the pipeline routes are refused with what was wrong, changing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from knot.client.rest_pipelines import RestPipelines
from tests.backends import StoreBackend

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
KNOT = Path(sys.executable).parent / "knot"
TARGET = "tests.pipelines.test_cli:greeting"
DIGEST = "sha256:" + "ab" * 32


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


def test_knot_pipeline_run_through_a_server_finds_its_cached_steps(remote: str) -> None:
    first = knot_command("pipeline", "run", TARGET, "-p", "name=007", "--json")
    assert first.returncode == 0, first.stderr
    ran = json.loads(first.stdout)
    assert [s["status"] for s in ran["steps"]] == ["ran", "ran"]
    # a process pool: its workers attach to the step runs through the server too
    again = knot_command("pipeline", "run", TARGET, "-p", "name=007", "-x", "process", "--json")
    assert again.returncode == 0, again.stderr
    cached = json.loads(again.stdout)
    assert cached["output"] == "HELLO 007"
    assert [s["status"] for s in cached["steps"]] == ["cached", "cached"]
    assert [s["from_run"] for s in cached["steps"]] == [s["run_id"] for s in ran["steps"]]
    shown = knot_command("pipeline", "show", cached["run_id"], "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["pipeline"], data["status"], data["executor"]) == (
        "greeting",
        "finished",
        "process",
    )
    missing = knot_command("pipeline", "show", uuid.uuid4().hex)
    assert missing.returncode == 2 and "no pipeline execution has run id" in missing.stderr


def started(remote: str) -> str:
    """An execution of one step `greet`, recorded through the client; its run id."""
    run_id = uuid.uuid4().hex
    RestPipelines(remote).start_execution(
        run_id=run_id,
        pipeline="greeting",
        executor="inprocess",
        params={},
        resumed_from=None,
        nodes=[("greet", "greet", ())],
    )
    return run_id


def step(**changes: Any) -> dict[str, Any]:
    result = {
        "name": "greet",
        "status": "ran",
        "run_id": "c" * 32,
        "cache_key": "d" * 64,
        "seconds": 0.5,
        "attempts": 1,
        "step": "greet",
        "output_digest": DIGEST,
        "output_kind": "pickle",
    }
    return {"result": {**result, **changes}, "cache": {"digest": DIGEST, "kind": "pickle"}}


HOSTILE = [
    (
        "/steps",
        {**step(), "cache": {"digest": "sha256:../../etc", "kind": "pickle"}},
        422,
        "digest",
    ),
    ("/steps", {**step(), "cache": {"digest": DIGEST, "kind": "exe"}}, 422, "kind"),
    ("/steps", step(status="failed"), 422, "only a step that ran"),
    ("/steps", step(name="nobody"), 404, "has no step 'nobody'"),
    ("/steps", step(run_id="R1"), 422, "run_id"),
    ("/steps", step(attempts=-1), 422, "attempts"),
    (
        "/steps",
        {
            **step(),
            "edges": [
                {"from_kind": "run", "from_id": "x", "relation": "o", "to_kind": "a", "to_id": "y"}
            ],
        },
        422,
        "does not touch the run of step 'greet'",
    ),
    (
        "/steps",
        {**step(), "cache": {"digest": DIGEST, "kind": "pickle", "data": "aGVsbG8="}},
        422,
        "not the output's",
    ),
    ("/steps", {**step(), "inline": "aGVsbG8="}, 422, "not the output's"),
    ("/steps", {**step(), "inline": "aGVsbG8"}, 422, "not valid base64"),
    ("/steps", {**step(), "inline": "<script>"}, 422, "inline"),
    ("/steps", {**step(), "inline": "A" * 8000}, 422, "inline"),
    (
        "/steps",
        {**step(output_digest=None, output_kind=None), "cache": None, "inline": "aGVsbG8="},
        422,
        "no output_digest",
    ),
    ("/end", {"status": "exploded"}, 422, "status"),
    ("/end", {"status": "finished", "extra": 1}, 422, "extra"),
]


@pytest.mark.parametrize(("tail", "body", "code", "words"), HOSTILE, ids=[h[3] for h in HOSTILE])
def test_bad_pipeline_records_are_refused_and_change_nothing(
    remote: str, tail: str, body: dict[str, Any], code: int, words: str
) -> None:
    run_id = started(remote)
    url = f"{remote}/api/v1/pipelines/executions/{run_id}{tail}"
    response = httpx.post(url, json=body)
    assert response.status_code == code, response.text
    assert words in response.json()["message"]
    records = RestPipelines(remote)
    execution = records.load_execution(run_id)
    assert execution.status == "running"
    assert [(s.name, s.status) for s in execution.steps] == [("greet", "skipped")]  # pending
    assert records.lookup("d" * 64) is None


def test_bad_run_ids_keys_and_executions_are_refused(remote: str) -> None:
    api = f"{remote}/api/v1/pipelines"
    for url in [f"{api}/executions/not-a-run", f"{api}/executions/XYZ/finished"]:
        response = httpx.get(url)
        assert response.status_code == 422 and "run_id" in response.json()["message"], url
    response = httpx.get(f"{api}/cache/not-a-key")
    assert response.status_code == 422 and "key" in response.json()["message"]
    unknown = uuid.uuid4().hex
    response = httpx.post(f"{api}/executions/{unknown}/end", json={"status": "failed"})
    assert response.status_code == 404 and unknown in response.json()["message"]
    no_nodes = {
        "run_id": unknown,
        "pipeline": "p",
        "executor": "inprocess",
        "params": {},
        "resumed_from": None,
        "nodes": [],
    }
    response = httpx.post(f"{api}/executions", json=no_nodes)
    assert response.status_code == 422 and "nodes" in response.json()["message"]
    response = httpx.get(f"{api}/executions/{unknown}")
    assert response.status_code == 404  # nothing was started
    twice = {**no_nodes, "nodes": [{"node": "a", "step": "a", "upstream": []}] * 2}
    response = httpx.post(f"{api}/executions", json=twice)
    assert response.status_code == 409 and "names a node twice" in response.json()["message"]
    assert httpx.get(f"{api}/executions/{unknown}").status_code == 404
    run_id = started(remote)
    response = httpx.post(f"{api}/executions", json={**twice, "run_id": run_id, "nodes": []})
    assert response.status_code == 422
    again = {**twice, "run_id": run_id, "nodes": twice["nodes"][:1]}
    response = httpx.post(f"{api}/executions", json=again)
    assert response.status_code == 409 and "already recorded" in response.json()["message"]
    assert RestPipelines(remote).load_execution(run_id).pipeline == "greeting"  # unchanged
