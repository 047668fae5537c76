"""The retrain loop's evaluation and canary through a live `knot server`, the client
having only KNOT_STORE=http:// (no artifact store of its own): the holdout is read
through the server's data routes, champion and challenger models through its blobs, the
canary's traffic split is set and cleared on the server, and `knot retrain` as a
subprocess rejects a worse challenger there. The live error rate comes from the local
prediction and label logs, as in production (the service writes them beside the
controller)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import knot
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.loop.config import LoopConfig
from knot.loop.controller import Controller
from knot.loop.state import State
from knot.loop.stores import loop_store
from tests.backends import StoreBackend
from tests.gates.churn_models import frame, register
from tests.loop.loop_setup import CANARY, loop_config
from tests.loop.test_loop import live_traffic

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
KNOT = Path(sys.executable).parent / "knot"


@pytest.fixture
def holdout(remote_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """On the live server: dataset `holdout` (400 rows) and champion `churn` version 1."""
    remote_backend.use(monkeypatch)
    ref = knot.register_dataset("holdout", frame(400, seed=2)).ref
    register("good", alias="champion")
    return ref


def _asked(config: LoopConfig) -> Controller:
    controller = Controller(config, owner="tester-controller")
    loop_store().request_manual("churn")
    controller.step()
    return controller


def test_a_canary_through_a_server_is_rolled_back_then_a_healthy_one_promoted(
    holdout: str, knot_home: Path
) -> None:
    controller = _asked(loop_config(holdout, canary=CANARY))
    state = loop_store().read_state("churn")
    assert state is not None and state.state is State.CANARY
    traffic = knot.get_traffic("churn")
    assert traffic is not None and (traffic.challenger, traffic.weight) == ("challenger", 0.5)
    assert controller.step().waiting == "0/20 labeled challenger requests so far"
    live_traffic(2, right=False)
    assert controller.step().finished is not None
    (rolled_back,) = loop_store().list_retrains("churn")
    assert rolled_back.status == "rolled_back"
    assert rolled_back.reason == (
        "live error_rate 1.000 > max_error_rate 0.2 over 40 labeled challenger requests"
    )
    assert knot.get_traffic("churn") is None
    assert knot.get_model("churn").aliases == {"champion": 1}

    controller = _asked(loop_config(holdout, canary=CANARY))
    live_traffic(3, right=True)
    assert controller.step().finished is not None
    promoted = loop_store().list_retrains("churn")[-1]
    assert (promoted.status, promoted.challenger_version) == ("promoted", 3), promoted.reason
    assert knot.get_model("churn").aliases == {"champion": 3}
    assert knot.get_traffic("churn") is None
    states = governance().audit_log(AuditQuery(entity_kind="model", action="loop.state"))
    canary = ["training", "evaluating", "canary"]
    assert [r.after["state"] for r in states] == [*canary, "idle", *canary, "promoting", "idle"]
    assert not (knot_home / "knot.db").exists() and not (knot_home / "artifacts").exists()


def test_knot_retrain_through_a_server_rejects_a_worse_challenger(
    holdout: str, knot_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "loop.yaml"
    settings = {
        "model": "churn",
        "pipeline": "tests.loop.loop_pipelines:train_worse",
        "evaluation": {"dataset": holdout, "label": "y", "metric": "accuracy"},
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    ran = subprocess.run(
        [str(KNOT), "retrain", "churn", "-c", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1, ran.stderr  # a rejected challenger is a failed check
    assert "churn/2 rejected against churn/1 on 400 rows" in ran.stderr
    (retrain,) = loop_store().list_retrains("churn")
    assert (retrain.status, retrain.challenger_version) == ("rejected", 2)
    assert retrain.reason is not None and retrain.reason.startswith("primary accuracy: challenger")
    assert knot.get_model("churn").aliases == {"champion": 1}
    graph = knot.lineage(f"retrain:{retrain.retrain_id}", direction="up", depth=1)
    assert "dataset:holdout@1" in {n.key for n in graph.nodes}
    assert not (knot_home / "knot.db").exists() and not (knot_home / "artifacts").exists()
