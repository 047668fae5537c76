"""`knot monitor run` for a model served from a feature service: the feature values it
was served with (its prediction log) get drift against the reference and skew against
the point-in-time offline values, stored per window, and alert rules fire on both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from knot.features.online.protocol import Pointer
from tests.cli.knot_process import assert_error, assert_ok, run
from tests.serving.conftest import serving

pytestmark = pytest.mark.anyio

RULES = """model: spender
reference: dataset:spend_reference@1
window: 1d
rules:
  - {name: skewed, metric: skew.share, op: '>', threshold: 0, window: 1d}
  - {name: spend-skew, metric: skew.spend, op: '>=', threshold: 0.3, window: 1d}
  - {name: spend-drift, metric: drift.spend.drifted, op: '>', threshold: 0, window: 1d}
"""


def _overwrite_spend(user: int, value: float) -> None:
    """Write another value into the online store, as a stray job would: what is served
    from now on differs from the offline values."""
    import knot.features as kf

    online = kf.feature_store().online
    pointer = online.pointer("users")
    assert pointer is not None
    row = json.dumps([pointer.watermark or 0, value]).encode()
    online.write("users", pointer.generation + 1, [([str(user)], [row])], base=pointer.generation)
    online.publish(
        "users", Pointer(pointer.generation + 1, pointer.watermark, pointer.view_version)
    )


async def _ask(model: str, home: Path, users: list[int]) -> None:
    log_dir = str(home / "predictions")  # the default log folder, where `knot monitor` looks
    async with serving(model=model, log_dir=log_dir) as (client, _):
        answer = await client.post("/predict", json={"inputs": [{"user_id": u} for u in users]})
        assert answer.status_code == 200, answer.text


def _daily(found: list[dict]) -> list[dict]:
    return [f for f in found if f["window"] == "1d"]


def _monitor(home: Path) -> dict:
    done = run(home, "monitor", "run", "spender", "--window", "1d", "--json")
    assert_ok(done)
    return json.loads(done.stdout)


async def test_monitor_run_stores_drift_and_skew_of_served_features(
    bound_model: str, knot_home: Path, tmp_path: Path
) -> None:
    import knot
    from knot.monitoring.results import read_results

    # the reference: spend around 1000, far from the 10-25 users 1 and 2 are served with
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"user_id": np.arange(300) % 2 + 1, "spend": rng.normal(1000, 5, 300)})
    knot.register_dataset("spend_reference", reference)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    assert_ok(run(knot_home, "monitor", "rules", "apply", str(rules)))

    await _ask(bound_model, knot_home, [1, 2, 1, 2])
    first = _monitor(knot_home)
    (skew,) = _daily(first["skew"])
    assert (skew["version"], skew["service"], skew["rows"]) == (1, "scoring/1", 4)
    assert skew["mismatched"] == {"spend": 0} and skew["skewed"] == []
    (drift,) = _daily(first["drift"])
    assert drift["reference"] == "dataset:spend_reference@1"
    assert drift["report"]["drifted_columns"] == ["spend"]
    assert {e["rule"] for e in first["events"]} == {"spend-drift"}

    _overwrite_spend(1, 99.0)
    await _ask(bound_model, knot_home, [1, 2])
    second = _monitor(knot_home)
    (skew,) = _daily(second["skew"])
    assert (skew["rows"], skew["mismatched"], skew["skewed"]) == (6, {"spend": 1}, ["spend"])
    assert skew["examples"]["spend"] == [{"user_id": 1, "served": 99.0, "offline": 10.0}]
    assert {e["rule"] for e in second["events"]} == {"skewed"}  # 1 of 6 rows: under 0.3

    (stored,) = read_results("spender", metric="skew.spend", window="1d")
    assert stored.value == pytest.approx(1 / 6)
    assert stored.detail is not None and stored.detail["mismatched"] == 1
    (share,) = read_results("spender", metric="skew.share", window="1d")
    assert share.value == 1.0 and share.detail == {"skewed": ["spend"], "service": "scoring/1"}
    # the human summary names the skewed feature; the alert list has both rules fired
    shown = run(knot_home, "monitor", "run", "spender", "--window", "1d")
    assert_ok(shown)
    assert "training/serving skew" in shown.stdout and "spend 16.7%" in shown.stdout
    fired = run(knot_home, "monitor", "alerts", "spender", "--state", "fired", "--json")
    assert_ok(fired)
    assert {e["rule"] for e in json.loads(fired.stdout)["events"]} == {"skewed", "spend-drift"}


def test_a_skew_rule_needs_a_feature_name(knot_home: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("model: spender\nrules:\n  - {name: s, metric: 'skew.', threshold: 0}\n")
    done = run(knot_home, "monitor", "rules", "apply", str(rules))
    assert_error(done)
    assert "skew.<feature>" in done.stderr


def test_a_model_without_a_feature_service_gets_no_skew(knot_home: Path) -> None:
    from knot.monitoring.feature_skew import VersionSkew

    assert VersionSkew.find("spender", 1) is None
