"""Real service processes: labels acknowledged by /feedback survive kill -9, a switch made
by every worker of a service is one audit row, and --plugin gauges reach /metrics.

Nothing here depends on which worker the kernel hands a connection to: a switch is
observed through the swap counter that /metrics sums over every worker, and every
worker polls the alias on its own, whether it gets requests or not."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import knot
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.serving.logs.labels import latest_labels
from tests.serving.conftest import row
from tests.serving.live import knot_serve
from tests.serving.test_live import Load

pytestmark = pytest.mark.server


def test_acknowledged_labels_survive_kill_9(churn: Path) -> None:
    with knot_serve("models:/churn@champion") as (url, process):
        ids = [
            httpx.post(f"{url}/predict", json={"inputs": [row()]}).json()["request_id"]
            for _ in range(2)
        ]
        labels = [{"request_id": ids[0], "label": 1}, {"request_id": ids[1], "label": 0}]
        answer = httpx.post(f"{url}/feedback", json={"labels": labels})
        os.killpg(process.pid, signal.SIGKILL)  # right after the answer: no shutdown at all
        process.wait(30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    got = {r["request_id"]: r["label"] for r in latest_labels("churn").to_pylist()}
    assert got == {ids[0]: "1", ids[1]: "0"}


def _swaps_made(url: str) -> float:
    """Champion swaps made so far, summed over the service's workers."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "knot_model_swaps_total" and s.labels.get("role") == "champion"
    )


def _until_swaps(url: str, count: int) -> None:
    deadline = time.monotonic() + 300  # only so a broken service cannot hang the suite
    while _swaps_made(url) < count:
        assert time.monotonic() < deadline, f"the workers never made {count} swaps"
        time.sleep(0.05)


def test_each_switch_of_a_two_worker_service_is_one_audit_row(churn: Path) -> None:
    with (
        knot_serve("models:/churn@champion", "--workers", "2", "--poll", "0.1") as (url, _),
        Load(url, clients=2) as load,  # traffic during the switches; where it goes is moot
    ):
        knot.set_alias("churn", "champion", 2)
        _until_swaps(url, 2)  # each of the two workers moved to version 2 ...
        knot.set_alias("churn", "champion", 1)
        _until_swaps(url, 4)  # ... and back
        made = _swaps_made(url)
    swaps = governance().audit_log(AuditQuery(entity_id="churn", action="serving.swap"))
    assert made == 4
    assert [(s.before["version"], s.after["version"]) for s in swaps] == [(1, 2), (2, 1)]
    assert {s.after["role"] for s in swaps} == {"champion"}
    assert {status for status, _ in load.answers} == {200}


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
