"""Logs across pods: two `knot serve` replicas of one model (real processes, each with its
own KNOT_HOME) log to one S3 store (SeaweedFS), and `knot monitor run` in a third process
sees both replicas' predictions and the labels posted to either; `knot logs compact`
keeps the file count at one per folder while replicas write; a replica killed with
SIGKILL right after acknowledged labels loses none of them, nor their predictions; one
stopped with SIGTERM writes every prediction it answered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import knot
from knot.monitoring.performance.window_metrics import performance_since
from knot.serving.logs.labels import latest_labels
from knot.serving.logs.predictions import read_prediction_log
from tests.artifacts.seaweedfs import ACCESS_KEY, SECRET_KEY, S3Server
from tests.servers import free_port
from tests.serving.conftest import EXAMPLE, row
from tests.serving.live import KNOT, REPO, knot_env
from tests.serving.models import Threshold

pytestmark = pytest.mark.s3


@dataclass(frozen=True)
class Shared:
    server: S3Server
    prefix: str  # the artifact store's prefix; the logs are under PREFIX/logs/
    base: Path

    def env(self, name: str) -> dict[str, str]:
        """A process of its own: its own KNOT_HOME, the same store and S3 prefix."""
        return {**knot_env(), "KNOT_HOME": str(self.base / name), "KNOT_REPLICA_ID": name}

    def log_keys(self) -> list[str]:
        client = self.server.client()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.server.bucket, Prefix=f"{self.prefix}/logs/"
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def knot(self, name: str, *args: str) -> Any:
        ran = subprocess.run(
            [KNOT, *args, "--json"], env=self.env(name), capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        return json.loads(ran.stdout)


@pytest.fixture
def shared(
    knot_home: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Shared:
    prefix = f"shared-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("KNOT_S3_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("KNOT_ARTIFACTS", f"s3://{s3_server.bucket}/{prefix}")
    monkeypatch.setenv("KNOT_STORE", f"sqlite:///{knot_home / 'knot.db'}")
    knot.reset()
    knot.log_model(Threshold(10.0), registered_model_name="churn", input_example=EXAMPLE)
    knot.set_alias("churn", "champion", 1)
    return Shared(s3_server, prefix, tmp_path)


@contextmanager
def replica(shared: Shared, name: str) -> Iterator[tuple[httpx.Client, subprocess.Popen[str]]]:
    """`knot serve models:/churn@champion` as replica `name`, once /ready answers."""
    port = free_port()
    process = subprocess.Popen(
        [KNOT, "serve", "models:/churn@champion", "--port", str(port)],
        env=shared.env(name),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, killed whole
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        while True:  # loading waits on nothing but the process itself
            if process.poll() is not None:
                raise RuntimeError(f"knot serve exited: {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if client.get("/ready").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield client, process
    finally:
        client.close()
        if process.poll() is None:
            process.terminate()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def predict(client: httpx.Client, rid: str, tenure: float) -> None:
    answer = client.post(
        "/predict", json={"inputs": [row(tenure), row(tenure + 1)]}, headers={"x-request-id": rid}
    )
    assert answer.status_code == 200, answer.text


def label(client: httpx.Client, rid: str, value: int) -> None:
    body = {"labels": [{"request_id": rid, "row": 0, "label": value}]}
    answer = client.post("/feedback", json=body)
    assert answer.status_code == 200, answer.text


def totals(result: dict[str, Any]) -> tuple[int, int]:
    """Logged prediction rows and labeled rows over the monitor pass's windows."""
    perf = result["performance"]
    return sum(m["rows"] for m in perf), sum(m["labeled"] for m in perf)


def test_two_replicas_a_monitor_and_compaction_share_one_store(shared: Shared) -> None:
    with replica(shared, "a") as (a, _), replica(shared, "b") as (b, _):
        for i in range(3):
            predict(a, f"a-{i}", 5.0 + i)
            predict(b, f"b-{i}", 20.0 + i)
        # a label posted where its request was answered writes that replica's log first,
        # so the labels posted across replicas after it find their requests in the store
        label(a, "a-0", 0)
        label(b, "b-0", 1)
        label(b, "a-1", 0)  # answered by a, labeled at b
        label(a, "b-1", 1)  # answered by b, labeled at a
        label(a, "b-2", 0)
        assert totals(shared.knot("monitor", "monitor", "run", "churn")) == (12, 5)

        # merged with the parts kept for readers that listed them: nothing counted twice
        kept = shared.knot("compactor", "logs", "compact", "churn")
        assert kept["merged"] >= 7 and kept["deleted"] == 0
        assert totals(shared.knot("monitor", "monitor", "run", "churn")) == (12, 5)
        for round_ in range(2):  # replicas keep writing; each compaction leaves one file
            predict(a, f"a-r{round_}", 1.0)
            predict(b, f"b-r{round_}", 30.0)
            label(a, f"a-r{round_}", 0)
            label(b, f"b-r{round_}", 1)
            done = shared.knot("compactor", "logs", "compact", "churn", "--grace", "0")
            assert done["files"] == len(done["folders"]) == len(shared.log_keys())
        assert len(shared.log_keys()) <= 4  # one prediction and one label folder per day
        assert totals(shared.knot("monitor", "monitor", "run", "churn")) == (20, 9)
    frame = read_prediction_log("churn")  # this process's copy, from the store
    assert sorted(set(frame.request_id)) == sorted(
        [f"a-{i}" for i in range(3)]
        + [f"b-{i}" for i in range(3)]
        + [f"{r}-r{i}" for r in "ab" for i in range(2)]
    )
    assert len(frame) == 20  # each row once: merged files hid the parts they replaced
    # what the canary judge reads (knot.loop.canary): the same rows and labels
    judged = performance_since("churn", 0)
    assert sum(m.rows for m in judged) == 20 and sum(m.labeled for m in judged) == 9


def test_a_killed_replica_loses_no_acknowledged_label(shared: Shared) -> None:
    with replica(shared, "c") as (c, process):
        for i in range(4):
            predict(c, f"k-{i}", 3.0 * i)
        for i in range(4):
            label(c, f"k-{i}", i % 2)
        predict(c, "unlabeled", 1.0)  # answered, neither labeled nor flushed: may be lost
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    labels = latest_labels("churn").to_pandas()
    assert sorted(zip(labels.request_id, labels.label, strict=True)) == [
        (f"k-{i}", str(i % 2)) for i in range(4)
    ]
    # a label's 200 comes after its prediction was written: both survive the kill
    logged = set(read_prediction_log("churn").request_id)
    assert {f"k-{i}" for i in range(4)} <= logged


def test_sigterm_writes_every_answered_prediction(shared: Shared) -> None:
    with replica(shared, "d") as (d, process):
        for i in range(5):
            predict(d, f"t-{i}", float(i))
        process.terminate()  # a rolling update's SIGTERM: drain, write the log, exit
        process.wait()
    frame = read_prediction_log("churn")
    assert sorted(frame.request_id) == sorted(f"t-{i}" for i in range(5) for _ in range(2))
    assert all("/logs/model=churn/version=1/" in k for k in shared.log_keys())
