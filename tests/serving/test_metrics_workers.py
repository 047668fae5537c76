"""/metrics of a `knot serve` with several workers: whichever worker answers the scrape,
the counts are totals over all workers, a plugin's gauge shows, a killed worker's counts
stay and its replacement joins in, and the metric files go when the service stops."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.conftest import row
from tests.serving.live import knot_serve

pytestmark = pytest.mark.server
N = 60
PLUGIN = "tests.serving.plugin_example:factory"


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _scrape(url: str) -> dict[str, float]:
    """Sample name (with its labels) -> value, summed over label sets per sample name."""
    families = text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text)
    totals: dict[str, float] = {}
    for family in families:
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def _until(url: str, check: str, ok: Callable[[float], bool]) -> dict[str, float]:
    deadline = time.monotonic() + 30
    while True:
        seen = _scrape(url)
        if check in seen and ok(seen[check]):
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"{check} stayed at {seen.get(check)}")
        time.sleep(0.05)


def _send(url: str, count: int, clients: int = 6) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def run(share: int) -> None:
        for _ in range(share):  # a connection each, so both workers get some
            answer = httpx.post(f"{url}/predict", json={"inputs": [row()]}, timeout=30)
            with lock:
                statuses.append(answer.status_code)

    threads = [threading.Thread(target=run, args=(count // clients,)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def _replacement(parent: int, workers: list[int]) -> int:
    """The pid of the worker started after workers[0] died."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = _children(parent)
        if len(now) == 2 and workers[0] not in now:
            return next(p for p in now if p not in workers)
        time.sleep(0.05)
    raise TimeoutError(f"no worker replaced {workers[0]}")


def test_two_workers_count_every_request_once(
    churn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the service makes its metrics folder
    args = ("models:/churn@champion", "--workers", "2", "--plugin", PLUGIN)
    with knot_serve(*args) as (url, process):
        _until(url, "knot_workers", lambda v: v == 2)
        folders = list(tmp_path.glob("knot-metrics-*"))
        statuses = _send(url, N)
        scrapes = [_scrape(url) for _ in range(6)]
        plugin = _until(url, "knot_test_plugin_rows", lambda v: v > 0)
        workers = _children(process.pid)
        os.kill(workers[0], signal.SIGKILL)
        new = _replacement(process.pid, workers)
        live = folders[0] / f"gauge_livesum_{new}.db"
        deadline = time.monotonic() + 30
        while not live.exists() and time.monotonic() < deadline:  # its metrics are made
            time.sleep(0.05)
        after = _scrape(url)
        dead_left = (folders[0] / f"gauge_livesum_{workers[0]}.db").exists()
    assert statuses == [200] * N
    for seen in scrapes:  # whichever worker answered the scrape
        assert seen["knot_requests_total"] == N
        assert seen["knot_request_latency_seconds_count"] == N
        assert seen["knot_batch_rows_sum"] == N
        assert seen["knot_workers"] == 2
        assert seen["knot_requests_in_flight"] == 0
    assert 0 < plugin["knot_test_plugin_rows"] <= N  # each worker's rows; the largest
    assert len(workers) == 2
    assert not dead_left  # the killed worker's live gauges are dropped ...
    assert after["knot_workers"] == 2  # ... and its replacement counts in
    assert after["knot_requests_total"] == N  # its requests still count
    assert len(folders) == 1
    assert not folders[0].exists()  # removed when the service stopped
