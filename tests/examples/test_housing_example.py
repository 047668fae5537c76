"""The housing example run as a user runs it (`python examples/housing/run.py`, a fresh
KNOT_HOME, free ports), then the store read back: what the demo says it did, it did."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

import knot
from tests.cli.knot_process import ROOT, environment

DEMO = ROOT / "examples" / "housing" / "run.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.CompletedProcess[str]]:
    """The demo's finished process; KNOT_HOME points at its store while the tests read."""
    home = tmp_path_factory.mktemp("housing-demo") / "home"
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=home.parent,
        env=environment(home),
        capture_output=True,
        text=True,
        check=False,
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNOT_HOME", str(home))
        for name in ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_TOKEN"):
            env.delenv(name, raising=False)
        knot.reset()
        try:
            yield done
        finally:
            knot.reset()


def test_the_demo_finishes_cleanly(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr, demo.stderr
    assert "7. champion: models:/housing/1 -> models:/housing/2" in demo.stdout


def test_the_data_was_validated_and_a_bad_feed_rejected(
    demo: subprocess.CompletedProcess[str],
) -> None:
    versions = {v.version: v for v in knot.list_dataset_versions("housing")}
    assert versions[1].status.value == "accepted" and versions[1].rows == 506
    assert versions[2].status.value == "rejected"  # the feed of negative prices
    assert versions[3].status.value == "accepted"  # the sales whose prices came back
    [report] = knot.dataset_reports("housing@2")
    assert "medv" in {r.column for r in report.failed}


def test_the_sweep_was_tracked_and_its_best_run_became_version_1(
    demo: subprocess.CompletedProcess[str],
) -> None:
    [sweep] = knot.search_runs("name = 'housing-sweep'", experiment="housing")
    candidates = knot.search_runs(
        f"parent_run_id = '{sweep.run_id}'", experiment="housing", order_by=["metrics.val_mae ASC"]
    )
    assert len(candidates) == 4
    first = knot.get_model_version("housing", 1)
    assert first.run_id == candidates[0].run_id
    assert first.datasets == ["housing@1"]


def test_the_champion_was_promoted_through_the_policy_then_by_the_loop_on_live_mae(
    demo: subprocess.CompletedProcess[str],
) -> None:
    policy = knot.get_promotion_policy("housing")
    assert policy is not None
    assert [(t.metric, t.op, t.value) for t in policy.thresholds] == [("val_mae", "<=", 4.5)]
    requests = sorted(knot.list_promotion_requests("housing"), key=lambda r: r.version)
    assert [(r.version, r.status.value) for r in requests] == [(1, "applied"), (2, "applied")]
    assert knot.get_model("housing").aliases["champion"] == 2

    from knot.loop.stores import loop_store

    [retrain] = loop_store().list_retrains("housing")
    assert retrain.status == "promoted" and retrain.challenger_version == 2
    assert "live mae" in (retrain.reason or "") and "vs champion" in (retrain.reason or "")


def test_the_mae_alert_fired_and_started_the_retraining(
    demo: subprocess.CompletedProcess[str],
) -> None:
    from knot.monitoring.alerts.events import alert_events

    [fired] = alert_events("housing", state="fired")
    assert (fired.rule, fired.metric) == ("housing-mae", "mae")
    assert fired.value > fired.threshold == 5.0
    edges = {
        (e.source, e.relation, e.target)
        for e in knot.lineage("models:/housing/2", direction="up").edges
    }
    relations = {(s.split(":")[0], r, t.split(":")[0]) for s, r, t in edges}
    assert ("alert", "triggered", "retrain") in relations
    assert ("retrain", "produced", "model_version") in relations
    assert any(s == "dataset:housing@3" and r == "input" for s, r, _ in edges)
    assert any(s == "dataset:housing_holdout@1" and r == "evaluated" for s, r, _ in edges)


def test_the_champion_was_packed_as_a_modelkit(demo: subprocess.CompletedProcess[str]) -> None:
    from knot.packaging.layout import open_kit_store

    assert "housing:1" in {e.reference for e in open_kit_store().entries()}
    assert "answers match the registered model" in demo.stdout
