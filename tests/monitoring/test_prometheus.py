"""A real Prometheus (the Debian package) on 127.0.0.1 scrapes a running `knot serve`
with the live monitoring plugin every second; the drift and performance gauges are
read back through the Prometheus HTTP query API. Shifted traffic, labels sent to
/feedback and `knot monitor run` make the values, end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.monitoring.test_run import _training_frame
from tests.servers import free_port
from tests.serving.live import knot_serve

pytestmark = pytest.mark.timeout(240)


class Prometheus:
    """A Prometheus process whose scrape targets are a file_sd file tests rewrite."""

    def __init__(self, url: str, targets: Path) -> None:
        self.url = url
        self.targets = targets

    def scrape(self, *addresses: str) -> None:
        tmp = self.targets.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"targets": list(addresses), "labels": {"job": "knot"}}]))
        tmp.rename(self.targets)  # Prometheus watches the file; a rename is atomic

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, promql: str, ok: Callable[[float], bool], timeout: float = 90.0) -> float:
        """The query's first value once `ok` holds for it (it keeps changing as scraped)."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = self.query(promql)
            if last and ok(float(last[0]["value"][1])):
                return float(last[0]["value"][1])
            time.sleep(0.5)
        raise AssertionError(f"{promql} did not reach the expected value; last answer {last}")


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(
            "Prometheus is not installed (apt-get install prometheus, or run "
            "scripts/install-servers.sh)"
        )
    folder = tmp_path_factory.mktemp("prometheus")
    targets = folder / "targets.json"
    targets.write_text("[]")
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: knot\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n"
        f"    file_sd_configs:\n      - files: ['{targets}']\n        refresh_interval: 1s\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(folder / 'prometheus.log').read_text()}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("prometheus did not become ready in 60 s")
            time.sleep(0.1)
        yield Prometheus(url, targets)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`churn` trained on dataset churn@1 and served with the live plugin; its URL."""
    import knot
    from tests.serving.models import Threshold

    home = tmp_path_factory.mktemp("knot") / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNOT_HOME", str(home))
        for name in ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_EXPERIMENT"):
            env.delenv(name, raising=False)
        env.setenv("KNOT_USER", "tester")
        env.setenv("KNOT_MONITOR_REFRESH", "0.5")
        knot.reset()
        knot.register_dataset("churn", _training_frame())
        with knot.start_run(experiment="churn"):
            knot.load_dataset("churn")
            knot.log_model(
                Threshold(20.0), registered_model_name="churn", input_example=_training_frame(2)
            )
        knot.set_alias("churn", "champion", 1)
        with knot_serve("models:/churn@champion", "--plugin", "knot.monitoring.live:factory") as (
            url,
            _,
        ):
            yield url
        knot.reset()


def _send(url: str, shift: float, n: int = 300) -> list[str]:
    rng = np.random.default_rng(11)
    ids = []
    for _ in range(n // 100):
        rows = [
            {
                "tenure": float(rng.normal(20 + shift, 5)),
                "plan": str(rng.choice(["basic", "pro"])),
                "seats": int(rng.integers(1, 10)),
            }
            for _ in range(100)
        ]
        response = httpx.post(f"{url}/predict", json={"inputs": rows}, timeout=10)
        assert response.status_code == 200, response.text
        ids.append(response.json()["request_id"])
    return ids


def test_prometheus_reads_the_drift_and_performance_gauges(
    prometheus: Prometheus, monitored: str
) -> None:
    from knot.cli import app

    prometheus.scrape(monitored.removeprefix("http://"))
    ids = _send(monitored, shift=10.0)
    psi = prometheus.wait_for(
        'knot_drift_score{model="churn",feature="tenure",test="psi"}', lambda v: v > 0.1
    )
    assert psi > 0.1
    labels = [{"request_id": r, "row": i, "label": 0} for r in ids for i in range(100)]
    answer = httpx.post(f"{monitored}/feedback", json={"labels": labels}, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(labels)
    time.sleep(1.5)  # the log writes what it holds every second
    result = CliRunner().invoke(app, ["monitor", "run", "churn", "--json"])
    assert result.exit_code == 0, result.output
    perf = json.loads(result.output)["performance"]
    assert perf and perf[-1]["labeled"] == 300
    accuracy = perf[-1]["metrics"]["accuracy"]
    found = prometheus.wait_for(
        'knot_performance{model="churn",version="1",metric="accuracy"}',
        lambda v: abs(v - accuracy) < 1e-9,
    )
    assert found == pytest.approx(accuracy)
    ks = prometheus.query('knot_drift_score{model="churn",feature="tenure",test!="psi"}')
    assert ks and float(ks[0]["value"][1]) > 0  # the batch test `monitor run` stored


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "knot-dashboard.json"


def _expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in (
                ("$model", ".*"),
                ("$metric", ".*"),
                ("$__rate_interval", "1m"),
                ("$__range", "5m"),
            ):
                expr = expr.replace(variable, value)
            out.append((panel["title"], expr))
    return out


def test_every_dashboard_query_runs_on_prometheus_and_finds_data(
    prometheus: Prometheus, monitored: str
) -> None:
    prometheus.scrape(monitored.removeprefix("http://"))
    _send(monitored, shift=0.0, n=100)
    prometheus.wait_for("sum(knot_requests_total)", lambda v: v > 0)
    empty = []
    for title, expr in _expressions():
        if not prometheus.query(expr):  # a bad expression raises: the API answers 400
            empty.append(title)
    # nothing failed and no model was swapped, so those have no series; the rest have data
    assert set(empty) <= {"Errors per second by status", "Error ratio", "Model swaps"}, empty
    assert "Drift score per feature" not in empty and "Latency quantiles" not in empty
