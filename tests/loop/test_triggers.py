"""Each trigger kind fires once for what is new since its cursor, and the loop's tables
are exactly what migration 0009 builds."""

from __future__ import annotations

from pathlib import Path

import knot
from knot.loop import tables as loop_tables
from knot.loop.config import TriggerConfig
from knot.loop.sql_store import SqlLoopStore
from knot.loop.state import loop_db
from knot.loop.triggers import advance, next_fire, poll, request_manual
from tests.gates.churn_models import frame, register
from tests.migrations import assert_migration_builds

MINUTE = 60_000


def fire_and_advance(triggers: TriggerConfig, now: int | None = None) -> list:
    db = loop_db()
    fired = poll(SqlLoopStore(db), "churn", triggers, now)
    with db.write() as conn:
        advance(conn, "churn", fired)
    return fired


def test_a_new_dataset_version_fires_once(knot_home: Path) -> None:
    triggers = TriggerConfig(dataset="customers")
    assert fire_and_advance(triggers) == []  # no such dataset yet
    knot.register_dataset("customers", frame(50, seed=1))
    assert fire_and_advance(triggers) == []  # first sight: the cursor starts at churn@1
    knot.register_dataset("customers", frame(50, seed=2))
    (fired,) = fire_and_advance(triggers)
    assert (fired.kind, fired.node) == ("dataset", ("dataset", "customers@2"))
    assert fired.detail == {"dataset": "customers@2", "previous": "customers@1"}
    assert fire_and_advance(triggers) == []  # seen


def test_a_version_newer_than_the_champions_training_data_fires_at_once(knot_home: Path) -> None:
    knot.register_dataset("customers", frame(50, seed=1))
    register("good", alias="champion", trained_on="customers@1")
    knot.register_dataset("customers", frame(50, seed=2))
    (fired,) = fire_and_advance(TriggerConfig(dataset="customers"))
    assert fired.detail["dataset"] == "customers@2"


def test_an_alert_firing_fires(knot_home: Path) -> None:
    from knot.monitoring.alerts.events import AlertRule, evaluate, set_alert_rule
    from knot.monitoring.results import ResultPoint, save_results

    register("good", alias="champion")
    triggers = TriggerConfig(alerts=["drift"])
    assert fire_and_advance(triggers) == []
    set_alert_rule(AlertRule(name="drift", model="churn", metric="drift.share", threshold=0.5))
    hour = 3_600_000
    start = knot.get_model_version("churn", 1).created_at // hour * hour
    point = ResultPoint(
        model="churn",
        version=1,
        window="1h",
        window_start=start,
        window_end=start + hour,
        metric="drift.share",
        value=0.8,
    )
    save_results([point])
    (event,) = evaluate("churn")
    assert fire_and_advance(TriggerConfig(alerts=["other-rule"])) == []
    (fired,) = fire_and_advance(triggers)
    assert fired.kind == "alert" and fired.node == ("alert", event.id)
    assert fired.detail["rule"] == "drift" and fired.detail["value"] == 0.8
    assert fire_and_advance(TriggerConfig(alerts="any")) == []  # the cursor moved past it


def test_a_cron_schedule_fires_when_due(knot_home: Path) -> None:
    triggers = TriggerConfig(schedule="*/5 * * * *")
    t0 = 1_780_000_000_000 // (5 * MINUTE) * (5 * MINUTE) + MINUTE  # 1 min past a fire
    assert fire_and_advance(triggers, t0) == []  # seeds the cursor at t0
    assert next_fire("*/5 * * * *", t0) == t0 + 4 * MINUTE
    assert fire_and_advance(triggers, t0 + 3 * MINUTE) == []
    (fired,) = fire_and_advance(triggers, t0 + 4 * MINUTE)
    assert fired.kind == "schedule" and fired.detail["due"] == t0 + 4 * MINUTE
    assert fire_and_advance(triggers, t0 + 5 * MINUTE) == []  # next one is at t0 + 9 min


def test_a_manual_request_fires_once(knot_home: Path) -> None:
    at = request_manual(loop_db(), "churn")
    request_manual(loop_db(), "churn")  # asking twice files one request
    (fired,) = fire_and_advance(TriggerConfig())
    assert fired.kind == "manual" and fired.detail == {"requested_at": at}
    assert fire_and_advance(TriggerConfig()) == []


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    assert_migration_builds(loop_tables, tmp_path)
