"""Real service processes: hot swap and rollback under concurrent load with zero failed
requests, several workers, and graceful shutdown draining in-flight requests."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

import knot
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.serving.logs.predictions import read_prediction_log
from tests.serving.conftest import EXAMPLE, row
from tests.serving.live import KNOT, REPO, knot_env, knot_serve
from tests.serving.models import Slow

pytestmark = pytest.mark.server


class Load:
    """Clients posting one row after another until stopped; every answer is kept."""

    def __init__(self, url: str, clients: int = 8) -> None:
        self.url = url
        self.answers: list[tuple[int, int | None]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                answer = client.post("/predict", json={"inputs": [row()]})
                version = answer.json().get("model_version") if answer.status_code == 200 else None
                with self._lock:
                    self.answers.append((answer.status_code, version))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def wait_for(self, version: int, timeout: float = 120) -> None:
        """Until the last 20 answers all came from `version`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                tail = self.answers[-20:]
            if len(tail) == 20 and all(v == version for _, v in tail):
                return
            time.sleep(0.05)
        raise TimeoutError(f"the service did not move to version {version}")


def test_hot_swap_and_rollback_under_load_fail_no_request(churn: Path) -> None:
    with (
        knot_serve("models:/churn@champion", "--workers", "2", "--poll", "0.1") as (url, _),
        Load(url) as load,
    ):
        load.wait_for(1)
        knot.set_alias("churn", "champion", 2)
        load.wait_for(2)
        rolled = subprocess.run(
            [KNOT, "rollback", "churn"], env=knot_env(), cwd=REPO, capture_output=True, text=True
        )
        load.wait_for(1)
    assert rolled.returncode == 0, rolled.stderr
    assert "churn@champion -> version 1" in rolled.stdout
    statuses = {status for status, _ in load.answers}
    assert statuses == {200}, f"failed requests during the swap: {statuses}"
    assert {v for _, v in load.answers} == {1, 2}
    moves = governance().audit_log(AuditQuery(entity_id="churn@champion", action="set_alias"))
    assert [(m.before, m.after) for m in moves] == [
        (None, {"version": 1}),
        ({"version": 1}, {"version": 2}),
        ({"version": 2}, {"version": 1}),
    ]


def _wait_in_flight(url: str, n: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/metrics", timeout=5).text
        line = next(x for x in text.splitlines() if x.startswith("knot_requests_in_flight "))
        if float(line.split()[1]) >= n:
            return
        time.sleep(0.01)
    raise TimeoutError(f"{n} requests never were in flight together")


def test_sigterm_drains_in_flight_requests_and_writes_the_log(knot_home: Path) -> None:
    knot.log_model(Slow(10.0, 1.0), registered_model_name="slow", input_example=EXAMPLE)
    knot.set_alias("slow", "champion", 1)
    answers: list[httpx.Response] = []

    def call(i: int) -> None:
        answers.append(
            httpx.post(
                f"{url}/predict",
                json={"inputs": [row()]},
                headers={"x-request-id": f"inflight-{i}"},
                timeout=30,
            )
        )

    with knot_serve("models:/slow@champion") as (url, process):
        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        _wait_in_flight(url, 4)
        process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join()
        code = process.wait(30)
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after draining
    assert [a.status_code for a in answers] == [200] * 4
    logged = read_prediction_log("slow")
    assert sorted(logged.request_id) == [f"inflight-{i}" for i in range(4)]


def test_serve_names_a_model_that_does_not_exist(knot_home: Path) -> None:
    result = subprocess.run(
        [KNOT, "serve", "models:/nope@champion"], env=knot_env(), capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "model 'nope'" in result.stderr
