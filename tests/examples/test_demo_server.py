"""The churn demo through a `knot server` (KNOT_DEMO_SERVER=1, `make demo-server`): the
demo starts a server on its KNOT_HOME's store and runs with KNOT_STORE=http:// alone.
The test takes the demo's own shortened path, KNOT_DEMO_QUICK=1: steps 1 to 5 (data
registered and validated, the sweep, the best runs compared, registration, promotion
with approval and the model card, logging over HTTP), not packaging, serving,
monitoring and the loop, which take most of the demo's ~100 s and have server tests of
their own (tests/serving, tests/monitoring, tests/loop). The demo folder is copied, so
its out/ pages are written under the test's folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
KNOT = Path(sys.executable).parent / "knot"


def test_the_demo_runs_through_a_server_it_starts(tmp_path: Path) -> None:
    demo = shutil.copytree(ROOT / "examples" / "churn", tmp_path / "churn")
    shutil.rmtree(demo / "out", ignore_errors=True)
    home = tmp_path / "home"
    keep = {k: v for k, v in os.environ.items() if not k.startswith("KNOT_")}
    env = keep | {
        "KNOT_HOME": str(home),
        "KNOT_DEMO_SERVER": "1",
        "KNOT_DEMO_QUICK": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    ran = subprocess.run(
        [sys.executable, str(demo / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "0. server every step goes through knot server at http://127.0.0.1:" in ran.stdout
    assert "5. server the whole demo runs through http://127.0.0.1:" in ran.stdout
    assert "logged 1000 points over HTTP" in ran.stdout
    card = (demo / "out" / "model-card-churn-v1.md").read_text()
    assert "# Model card: churn v1" in card and "Validation of the training data" in card
    # what the demo did through the server is in the store the server kept, under KNOT_HOME
    local = keep | {"KNOT_HOME": str(home)}
    listed = subprocess.run(
        [str(KNOT), "runs", "list", "-e", "churn", "--json"],
        env=local | {"PYTHONPATH": env["PYTHONPATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    names = {run["name"] for run in json.loads(listed.stdout)}
    assert {"churn-sweep", "remote-check"} <= names
