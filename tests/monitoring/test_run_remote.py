"""`knot monitor run` end to end on a live server: the model is trained on a dataset
registered through the server, and the pass, a `knot` subprocess with only
KNOT_STORE=http://, finds that reference in the server's lineage, loads it through the
server's data routes and blobs, and stores its drift on the server. The client keeps
no store and no artifacts of its own; only the prediction log is local, as in serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import knot
from knot.monitoring.results import read_results
from tests.backends import StoreBackend
from tests.monitoring.logs import HOUR
from tests.monitoring.test_run import _serve, _train

pytestmark = pytest.mark.server


def test_knot_monitor_run_through_a_server_reads_the_training_dataset_there(
    remote_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote_backend.use(monkeypatch)
    _train(knot_home)  # dataset churn@1, read by the run that logged churn version 1
    # the CLI's pass runs at the real clock and looks 24 windows back: the last closed hour
    now = int(time.time() * 1000)
    start = now - now % HOUR - HOUR
    _serve(knot_home, shift=8.0, start=start)
    knot.reset()
    command = [str(Path(sys.executable).parent / "knot"), "monitor", "run", "churn", "--json"]
    ran = subprocess.run(command, capture_output=True, text=True, env={**os.environ}, check=False)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    drift = [d for d in result["drift"] if d["window_start"] == start]
    assert drift and drift[0]["reference"] == "dataset:churn@1", result
    assert "tenure" in drift[0]["report"]["drifted_columns"]
    (share,) = read_results("churn", metric="drift.share", since_ms=start, window="1h")
    assert share.value == pytest.approx(drift[0]["report"]["share_drifted"])
    assert not (knot_home / "knot.db").exists() and not (knot_home / "artifacts").exists()
