"""`knot serve --workers N`: workers forked from one loaded model drain what they hold
when the service gets SIGTERM, and a port already taken is a clear error."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import knot
from knot.serving.logs.predictions import read_prediction_log
from tests.serving.conftest import EXAMPLE, row
from tests.serving.live import KNOT, REPO, knot_env, knot_serve
from tests.serving.models import Slow

pytestmark = pytest.mark.server


def _in_flight(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        if family.name == "knot_requests_in_flight":
            return sum(s.value for s in family.samples)
    return 0.0


def test_sigterm_drains_every_worker_and_stops_the_service(knot_home: Path) -> None:
    knot.log_model(Slow(10.0, 1.0), registered_model_name="slow", input_example=EXAMPLE)
    knot.set_alias("slow", "champion", 1)
    answers: list[int] = []

    def call(i: int) -> None:
        answer = httpx.post(
            f"{url}/predict",
            json={"inputs": [row()]},
            headers={"x-request-id": f"drain-{i}"},
            timeout=30,
        )
        answers.append(answer.status_code)

    with knot_serve("models:/slow@champion", "--workers", "2") as (url, process):
        threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while _in_flight(url) < 6 and time.monotonic() < deadline:  # summed over workers
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join()
        code = process.wait(30)
    assert code == 0
    assert answers == [200] * 6
    logged = read_prediction_log("slow")
    assert sorted(logged.request_id) == [f"drain-{i}" for i in range(6)]


def test_a_port_in_use_is_named(churn: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [KNOT, "serve", "models:/churn@champion", "--workers", "2", "--port", str(port)],
            env=knot_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "pass another --port" in result.stderr
