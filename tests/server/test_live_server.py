"""What only a real server process shows: start-up through the CLI, crash durability,
several workers, and a clear refusal to start on a bad store or a busy port."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from knot.client.rest_store import RestTrackingStore
from knot.tracking.entities import Batch, RunStatus
from tests.backends import KnotServer
from tests.server.live import start_server

pytestmark = pytest.mark.server


def test_sigkill_keeps_every_acknowledged_batch(tmp_path: Path) -> None:
    store_uri, artifacts = f"sqlite:///{tmp_path / 'knot.db'}", f"file://{tmp_path / 'a'}"
    server = start_server(store_uri, artifacts)
    try:
        client = RestTrackingStore(server.url)
        exp = client.create_experiment("crash")
        rid = client.create_run(exp.experiment_id, user="ana").run_id
        for i in range(20):
            points = [(rid, "loss", float(s), s, s) for s in range(i * 500, (i + 1) * 500)]
            client.log_batch(Batch(metrics=points, tags=[(rid, "batch", str(i))]))
        client.close()
    finally:
        server.kill()
    assert server.process.returncode == -9
    restarted = start_server(store_uri, artifacts)
    try:
        client = RestTrackingStore(restarted.url)
        run = client.get_run(rid)
        assert run.metrics["loss"].count == 10_000 and run.tags == {"batch": "19"}
        assert len(client.get_metric_history(rid, "loss")) == 10_000
        client.close()
    finally:
        restarted.stop()


def test_several_workers_share_one_store(tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'knot.db'}", f"file://{tmp_path / 'a'}", workers=2
    )
    try:
        client = RestTrackingStore(server.url)
        exp = client.create_experiment("workers")
        ids = [client.create_run(exp.experiment_id, user="u").run_id for _ in range(8)]
        for rid in ids:
            client.log_batch(Batch(ends=[(rid, "FINISHED", 1)]))
        found = client.search_runs([exp.experiment_id], "status = 'FINISHED'").runs
        assert {r.run_id for r in found} == set(ids)
        assert all(r.status is RunStatus.FINISHED for r in found)
        client.close()
    finally:
        server.stop()
    assert server.process.returncode is not None


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from knot.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "server", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_store_uri_is_refused_with_one_line(tmp_path: Path) -> None:
    result = _serve("--port", "0", "--store", "mysql://nope/db")
    assert result.returncode == 2
    assert "no supported scheme" in result.stderr and "Traceback" not in result.stderr


def test_a_busy_port_is_refused_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _serve("--port", str(port), "--store", f"sqlite:///{tmp_path / 'k.db'}")
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr


def test_the_startup_line_and_health(knot_server: KnotServer) -> None:
    url = knot_server.url  # read from the server's startup line
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url + "/health").json() == {"status": "ok"}
    name = f"e-{uuid.uuid4().hex[:6]}"
    assert httpx.post(url + "/api/v1/experiments", json={"name": name}).status_code == 201
