"""The retrain loop end to end on a real store: rejection of a worse challenger, a
canary rolled back by its live error rate (read from the prediction and label logs, as
production does) or promoted, approval, and the lease: two controllers never both work,
and a controller killed mid-training is finished by the next one, not repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.errors import Invalid
from knot.governance import audit, audit_query
from knot.governance.audit_query import AuditQuery
from knot.governance.lineage import edges_from, edges_to
from knot.loop.config import load_loop_config, resolve_pipeline
from knot.loop.controller import Controller
from knot.loop.state import State, acquire, list_retrains, loop_db, read_state
from knot.loop.triggers import read_cursors, request_manual
from knot.serving.logs.labels import append_labels
from knot.serving.logs.predictions import default_log_dir
from knot.store.database import now_ms
from tests.gates.churn_models import holdout, register
from tests.loop.loop_setup import CANARY, loop_config, retrain_once
from tests.monitoring.logs import write_predictions

__all__ = ["holdout"]

ROOT = Path(__file__).resolve().parents[2]


def test_a_worse_challenger_is_rejected(holdout: str) -> None:
    register("good", alias="champion")
    controller = retrain_once(loop_config(holdout, "train_worse"))
    (retrain,) = list_retrains(controller.db, "churn")
    assert retrain.status == "rejected" and retrain.challenger_version == 2
    assert retrain.reason is not None and retrain.reason.startswith("primary accuracy: challenger")
    assert "(min_margin)" in retrain.reason
    assert knot.get_model("churn").aliases == {"champion": 1}  # challenger alias removed
    state = read_state(controller.db, "churn")
    assert state is not None and state.state is State.IDLE
    with controller.db.read() as conn:
        produced = edges_from(conn, "retrain", retrain.retrain_id)
        evaluated = edges_to(conn, "retrain", retrain.retrain_id)
    assert ("produced", "churn/2") in {(e.relation, e.to_id) for e in produced}
    assert ("evaluated", "holdout@1") in {(e.relation, e.from_id) for e in evaluated}
    with controller.db.read() as conn:
        records = audit_query.query(conn, AuditQuery(entity_id=retrain.retrain_id))
        states = audit_query.query(conn, AuditQuery(entity_kind="model", action="loop.state"))
    assert [r.action for r in records] == ["loop.retrain", "loop.rejected"]
    with controller.db.read() as conn:
        assert audit.verify(conn) == []  # every loop row is on the hash chain
    assert [r.after["state"] for r in states] == [
        "training",
        "evaluating",
        "idle",
    ]


def live_traffic(version: int, right: bool, n: int = 40) -> None:
    """n answers of `version` logged as the service logs them, then their labels."""
    rng = np.random.default_rng(version)
    x1 = rng.normal(size=n)
    predictions = (x1 > 0).astype(np.int64)
    ids = [f"req-{version}-{i}-{right}" for i in range(n)]
    features = {"x1": x1.tolist(), "x2": [0.0] * n, "group_code": [0] * n}
    stamp = now_ms()
    write_predictions(
        default_log_dir(),
        "churn",
        version,
        request_ids=ids,
        timestamps=[stamp] * n,
        features=features,
        predictions=predictions,
        role="challenger",
    )
    truth = predictions if right else 1 - predictions
    append_labels(
        "churn", [{"request_id": i, "label": int(t)} for i, t in zip(ids, truth, strict=True)]
    )


def test_a_canary_whose_live_error_rate_rises_is_rolled_back(holdout: str) -> None:
    register("good", alias="champion")
    controller = retrain_once(loop_config(holdout, canary=CANARY))
    state = read_state(controller.db, "churn")
    assert state is not None and state.state is State.CANARY
    traffic = knot.get_traffic("churn")
    assert traffic is not None and (traffic.challenger, traffic.weight) == ("challenger", 0.5)
    assert controller.step().waiting == "0/20 labeled challenger requests so far"
    live_traffic(2, right=False)
    outcome = controller.step()
    assert outcome.state is State.IDLE and outcome.finished is not None
    (retrain,) = list_retrains(controller.db, "churn")
    assert retrain.status == "rolled_back"
    assert retrain.reason == (
        "live error_rate 1.000 > max_error_rate 0.2 over 40 labeled challenger requests"
    )
    assert knot.get_traffic("churn") is None
    assert knot.get_model("churn").aliases == {"champion": 1}


def test_a_healthy_canary_is_promoted(holdout: str) -> None:
    register("good", alias="champion")
    controller = retrain_once(loop_config(holdout, canary=CANARY))
    live_traffic(2, right=True)
    assert controller.step().finished is not None
    (retrain,) = list_retrains(controller.db, "churn")
    assert retrain.status == "promoted", retrain.reason
    assert knot.get_model("churn").aliases == {"champion": 2}
    assert knot.get_traffic("churn") is None


def test_promotion_waits_for_an_approval(holdout: str) -> None:
    from knot.governance.identity import acting_as

    register("good", alias="champion")
    knot.set_promotion_policy("churn", approver_role="approver")
    config = loop_config(holdout, approval={"required": True})
    controller = retrain_once(config)
    outcome = controller.step()
    assert outcome.state is State.APPROVAL and "waiting for approval" in (outcome.waiting or "")
    (request,) = knot.list_promotion_requests("churn", status="pending")
    with acting_as("alice"):
        knot.approve(request.request_id, roles=["approver"])
    assert controller.step().state is State.IDLE
    assert list_retrains(controller.db, "churn")[0].status == "promoted"
    assert knot.get_model("churn").aliases["champion"] == 2
    knot.delete_promotion_policy("churn")
    with pytest.raises(Invalid, match=r"approval\.required is true"):
        Controller(config)


def test_a_knot_pipeline_retrains_and_its_run_is_in_the_lineage(holdout: str) -> None:
    controller = retrain_once(loop_config(holdout, "retrain_pipeline"))
    (retrain,) = list_retrains(controller.db, "churn")
    assert retrain.status == "promoted", retrain.reason
    pipeline_run = knot.get_run(retrain.run_id or "")
    assert pipeline_run.tags.get("knot.pipeline") == "retrain_pipeline"
    with controller.db.read() as conn:
        edges = {
            (e.relation, e.to_kind, e.to_id)
            for e in edges_from(conn, "retrain", retrain.retrain_id)
        }
    assert ("ran", "run", retrain.run_id) in edges and (
        "produced",
        "model_version",
        "churn/1",
    ) in edges


def test_a_failing_pipeline_or_evaluation_ends_the_retraining(holdout: str) -> None:
    controller = retrain_once(loop_config(holdout, "not_a_version"))
    (retrain,) = list_retrains(controller.db, "churn")
    assert retrain.status == "failed" and "must return the new ModelVersion" in (
        retrain.reason or ""
    )
    controller = retrain_once(loop_config("no_such_data"))
    failed = list_retrains(controller.db, "churn")[-1]
    assert failed.status == "failed" and (failed.reason or "").startswith("evaluation failed: ")
    assert knot.get_model("churn").aliases == {}  # the challenger alias was dropped
    state = read_state(controller.db, "churn")
    assert state is not None and state.state is State.IDLE


def test_a_controller_finds_the_lease_held_and_does_nothing(holdout: str) -> None:
    db = loop_db()
    assert acquire(db, "churn", "first", 60_000) is not None
    request_manual(db, "churn")
    outcome = Controller(loop_config(holdout), owner="late").step()
    assert outcome.busy_owner == "first" and list_retrains(db, "churn") == []


def test_two_controllers_at_once_retrain_once(holdout: str) -> None:
    register("good", alias="champion")
    db = loop_db()
    request_manual(db, "churn")
    controllers = [Controller(loop_config(holdout), owner=f"controller-{i}") for i in range(2)]
    outcomes: list[Any] = []
    start = threading.Barrier(2)

    def work(controller: Controller) -> None:
        start.wait()
        outcomes.append(controller.step())

    threads = [threading.Thread(target=work, args=(c,)) for c in controllers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (retrain,) = list_retrains(db, "churn")
    assert retrain.status == "promoted"
    worked = [o for o in outcomes if o.finished == retrain.retrain_id]
    idle_or_busy = [o for o in outcomes if o.finished is None]
    assert len(worked) == 1 and len(idle_or_busy) == 1


def write_config(tmp_path: Path, holdout: str, **extra: Any) -> Path:
    path = tmp_path / "loop.yaml"
    config = {
        "model": "churn",
        "pipeline": "tests.loop.loop_pipelines:retrain_when_allowed",
        "params": {"gate": str(tmp_path / "gate"), "attempts": str(tmp_path / "attempts")},
        "triggers": {"dataset": "fresh"},
        "evaluation": {"dataset": holdout, "label": "y"},
        "poll_seconds": 0.5,
        **extra,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def controller_process(config: Path, knot_home: Path, *args: str) -> subprocess.Popen[str]:
    pythonpath = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env = {**os.environ, "KNOT_HOME": str(knot_home), "PYTHONPATH": pythonpath}
    command = "from knot.cli import main; main()"
    argv = ["loop", "run", "churn", "-c", str(config), "--lease-seconds", "2", *args]
    return subprocess.Popen(
        [sys.executable, "-c", command, *argv],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(check: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_controller_killed_mid_training_is_finished_not_repeated(
    holdout: str, knot_home: Path, tmp_path: Path
) -> None:
    from tests.gates.churn_models import frame

    config = write_config(tmp_path, holdout)
    knot.register_dataset("fresh", frame(50, seed=5))
    db = loop_db()
    first = controller_process(config, knot_home, "--interval", "0.2")

    def seeded() -> bool:
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        with db.read() as conn:
            return "dataset:fresh" in read_cursors(conn, "churn")

    wait_for(seeded, "the first poll")
    knot.register_dataset("fresh", frame(50, seed=6))  # the trigger
    attempts = tmp_path / "attempts"
    wait_for(attempts.exists, "training to start")
    state = read_state(db, "churn")
    assert state is not None and state.state is State.TRAINING
    # a second controller meanwhile does nothing: the lease is held
    second = controller_process(config, knot_home, "--once")
    assert second.wait(60) == 0
    assert "is held by" in (second.stdout.read() if second.stdout else "")
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    (tmp_path / "gate").touch()
    wait_for(
        lambda: (s := read_state(db, "churn")) and s.lease_expires_at < now_ms(), "lease expiry"
    )
    third = controller_process(config, knot_home, "--once")
    assert third.wait(120) == 0, third.stderr.read() if third.stderr else ""
    (retrain,) = list_retrains(db, "churn")
    assert retrain.retrain_id == state.retrain_id and retrain.status == "promoted"
    assert attempts.read_text().count("attempt") == 2  # trained again under the same id
    steps = {step.name: step.status for step in knot.get_pipeline_run(retrain.run_id or "").steps}
    assert steps == {"training_rows": "cached", "fit_when_allowed": "ran"}  # finished work kept
    assert [v.version for v in knot.list_model_versions("churn")] == [1]
    assert knot.get_model("churn").aliases == {"champion": 1}


def test_knot_retrain_runs_one_retraining(holdout: str, tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(
        yaml.safe_dump({"model": "churn", "pipeline": "tests.loop.loop_pipelines:train_good"}),
        encoding="utf-8",
    )
    out = CliRunner().invoke(app, ["retrain", "churn", "-c", str(path)])
    assert out.exit_code == 0, out.output + repr(out.exception)
    assert ": promoted: churn/1 is the champion" in out.output
    status = CliRunner().invoke(app, ["loop", "status", "churn"])
    assert "manual" in status.output and "promoted" in status.output
    wrong = CliRunner().invoke(app, ["retrain", "fraud", "-c", str(path)])
    assert isinstance(wrong.exception, Invalid) and "not 'fraud'" in wrong.exception.message


def test_pipelines_by_module_or_file_and_their_errors(tmp_path: Path) -> None:
    assert resolve_pipeline("tests.loop.loop_pipelines:train_good").__name__ == "train_good"
    script = tmp_path / "my_retrain.py"
    script.write_text("def retrain():\n    return 'v'\n", encoding="utf-8")
    assert resolve_pipeline(f"{script}:retrain")() == "v"
    with pytest.raises(Invalid, match="cannot import 'no_such_module'"):
        resolve_pipeline("no_such_module:fn")
    with pytest.raises(Invalid, match="has no function 'nope'"):
        resolve_pipeline(f"{script}:nope")
    with pytest.raises(Invalid, match="does not exist"):
        resolve_pipeline(f"{tmp_path / 'missing.py'}:fn")


def test_a_controller_sleeping_longer_than_its_lease_is_refused(holdout: str) -> None:
    controller = Controller(loop_config(holdout), lease_seconds=2)
    with pytest.raises(Invalid, match="use a shorter --interval"):
        controller.run(interval=5)


def test_bad_loop_configs_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    cases = {
        "pipeline: 'nope' is not 'module:function' or": {"model": "m", "pipeline": "nope"},
        "triggers.schedule: 'every day' is not a cron": {
            "model": "m",
            "pipeline": "a:b",
            "triggers": {"schedule": "every day"},
        },
        "canary.weight": {
            "model": "m",
            "pipeline": "a:b",
            "canary": {"weight": 2, "max_error_rate": 0.1},
        },
        "unknown key 'tigers'": {"model": "m", "pipeline": "a:b", "tigers": {}},
    }
    for needle, data in cases.items():
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        with pytest.raises(Invalid, match=needle.replace("(", r"\(")):
            load_loop_config(path)
