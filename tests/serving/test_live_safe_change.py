"""Real service processes: labels acknowledged by /feedback survive kill -9, a switch made
by every worker of a service is one audit row, and --plugin gauges reach /metrics."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

import knot
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.serving.labels import latest_labels
from tests.serving.conftest import row
from tests.serving.live import knot_serve
from tests.serving.test_live import Load

pytestmark = pytest.mark.server


def test_acknowledged_labels_survive_kill_9(churn: Path) -> None:
    with knot_serve("models:/churn@champion") as (url, process):
        request_id = httpx.post(f"{url}/predict", json={"inputs": [row()]}).json()["request_id"]
        labels = [{"request_id": request_id, "label": 1}, {"request_id": "other", "label": 0}]
        answer = httpx.post(f"{url}/feedback", json={"labels": labels})
        os.killpg(process.pid, signal.SIGKILL)  # right after the answer: no shutdown at all
        process.wait(30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    got = {r["request_id"]: r["label"] for r in latest_labels("churn").to_pylist()}
    assert got == {request_id: "1", "other": "0"}


def test_each_switch_of_a_two_worker_service_is_one_audit_row(churn: Path, knot_home: Path) -> None:
    with (
        knot_serve("models:/churn@champion", "--workers", "2", "--poll", "0.1") as (url, _),
        Load(url) as load,
    ):
        load.wait_for(1)
        knot.set_alias("churn", "champion", 2)
        load.wait_for(2)
        knot.set_alias("churn", "champion", 1)
        load.wait_for(1)
    # both workers served version 2 (each writes its own log files, named by its pid)
    files = (knot_home / "predictions" / "model=churn" / "version=2").glob("date=*/part-*")
    assert len({f.name.split("-")[1] for f in files}) == 2
    swaps = governance().audit_log(AuditQuery(entity_id="churn", action="serving.swap"))
    assert [(s.before["version"], s.after["version"]) for s in swaps] == [(1, 2), (2, 1)]
    assert {s.after["role"] for s in swaps} == {"champion"}


def test_a_plugin_given_to_knot_serve_shows_its_gauge(churn: Path) -> None:
    plugin = "tests.serving.plugin_example:factory"
    with knot_serve("models:/churn@champion", "--plugin", plugin) as (url, _):
        for _ in range(4):
            assert httpx.post(f"{url}/predict", json={"inputs": [row()]}).status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            metrics = httpx.get(f"{url}/metrics").text
            if "knot_test_plugin_rows 4.0" in metrics:
                break
            time.sleep(0.1)
    assert "knot_test_plugin_rows 4.0" in metrics
