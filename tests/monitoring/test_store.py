"""The monitoring store's conformance: results, settings, rules, evaluation and events
behave the same on SQLite, PostgreSQL and the live `knot server` (the SDK's free
functions on KNOT_STORE), including what each refuses."""

from __future__ import annotations

from typing import Any

import pytest

from knot.errors import Invalid, NotFound
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.governance.lineage import Edge, add_edges
from knot.monitoring.alerts.events import alert_events, alert_states, evaluate
from knot.monitoring.alerts.rules import AlertRule, list_alert_rules, set_alert_rule
from knot.monitoring.monitor_config import apply_config, get_monitor_settings, parse_config
from knot.monitoring.results import ResultPoint, latest_results, read_results, save_results
from knot.monitoring.stores import monitoring_store
from knot.store.database import Database
from tests.backends import StoreBackend
from tests.monitoring.logs import HOUR

T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR


def _point(hour: int, metric: str, value: float | None, **more: Any) -> ResultPoint:
    fields: dict[str, Any] = {
        "model": "churn",
        "version": 1,
        "window": "1h",
        "window_start": T0 + hour * HOUR,
        "window_end": T0 + (hour + 1) * HOUR,
        "metric": metric,
        "value": value,
    }
    return ResultPoint(**{**fields, **more})


def test_results_are_replaced_per_window_and_read_by_filter(monitor_store: str) -> None:
    detail = {"test": "psi", "p_value": None, "drifted": True}
    stored = save_results(
        [
            _point(0, "accuracy", 0.9),
            _point(0, "accuracy", 0.8),  # the same window twice: the last wins
            _point(0, "drift.tenure", 0.4, detail=detail),
            _point(0, "accuracy", 0.5, segment="plan=pro"),
            _point(1, "accuracy", None),
            _point(1, "accuracy", 0.7, window="1d", window_end=T0 + 24 * HOUR),
            _point(1, "drift_x", 1.0),  # not a "drift." metric: the prefix read leaves it out
        ]
    )
    assert stored == 6
    assert [(p.window_start, p.value) for p in read_results("churn", metric="accuracy")] == [
        (T0, 0.8),
        (T0 + HOUR, None),
        (T0 + HOUR, 0.7),
    ]
    hourly = read_results("churn", metric="accuracy", window="1h", segment=None)
    assert [(p.segment, p.value) for p in hourly] == [("", 0.8), ("plan=pro", 0.5), ("", None)]
    (drift,) = read_results("churn", metric="drift.")
    assert drift.detail == detail
    assert [p.value for p in read_results("churn", since_ms=T0 + HOUR, window="1h")] == [
        None,
        1.0,
    ]
    save_results([_point(1, "accuracy", 0.6)])  # labels arrived late: recomputed
    newest = {(p.window, p.metric): p.value for p in latest_results("churn")}
    assert newest == {
        ("1h", "accuracy"): 0.6,
        ("1h", "drift.tenure"): 0.4,
        ("1d", "accuracy"): 0.7,
        ("1h", "drift_x"): 1.0,
    }
    assert read_results("nobody") == [] and latest_results("nobody") == []
    assert save_results([]) == 0


def test_settings_and_rules_are_applied_together_and_audited(monitor_store: str) -> None:
    config = parse_config(
        {
            "model": "churn",
            "reference": "dataset:churn@2",
            "segment": "plan",
            "window": "15m",
            "rules": [
                {"name": "drifting", "metric": "drift.share", "op": ">=", "threshold": 0.3},
                {"name": "bad", "metric": "accuracy", "op": "<", "threshold": 0.7},
            ],
        }
    )
    assert get_monitor_settings("churn").reference is None
    apply_config(config)
    apply_config(config)  # the same again: nothing new to audit
    settings = get_monitor_settings("churn")
    assert (settings.reference, settings.segment, settings.window) == (
        "dataset:churn@2",
        "plan",
        "15m",
    )
    assert [r.name for r in list_alert_rules("churn")] == ["bad", "drifting"]
    assert list_alert_rules("other") == []
    actions = [r.action for r in governance().audit_log(AuditQuery(entity_kind="model"))]
    assert actions.count("monitor.settings") == 1
    assert alert_states("churn") == {
        "bad": {"state": "ok", "streak": 0, "value": None},
        "drifting": {"state": "ok", "streak": 0, "value": None},
    }


def test_the_training_reference_is_read_from_lineage(
    monitor_store: str, store_backend: StoreBackend
) -> None:
    db = Database(store_backend.db_uri)
    try:
        with db.write() as conn:
            add_edges(
                conn,
                [
                    Edge("dataset", "churn@3", "input", "run", "r1"),
                    Edge("run", "r1", "produced", "model_version", "churn/2"),
                ],
            )
    finally:
        db.close()
    store = monitoring_store()
    assert store.training_reference("churn", 2) == "dataset:churn@3"
    assert store.training_reference("churn", 1) is None


def test_events_filter_by_state_and_time_and_unknown_ones_are_refused(monitor_store: str) -> None:
    set_alert_rule(AlertRule(name="bad", model="churn", metric="accuracy", op="<", threshold=0.7))
    save_results([_point(0, "accuracy", 0.5), _point(0, "served_rows", 10.0)])
    (fired,) = evaluate("churn")
    save_results([_point(1, "accuracy", 0.9), _point(1, "served_rows", 10.0)])
    (resolved,) = evaluate("churn")
    assert [e.id for e in alert_events("churn", state="resolved")] == [resolved.id]
    assert [e.id for e in alert_events("churn", since_ms=fired.at_ms)][-1] == resolved.id
    assert alert_events("churn", since_ms=resolved.at_ms + 60_000) == []
    assert alert_states("churn")["bad"]["state"] == "resolved"
    with pytest.raises(NotFound, match="alert event"):
        monitoring_store().set_webhook_status("0" * 32, "sent 200")


def test_a_bad_rule_or_an_unknown_one_changes_nothing(monitor_store: str) -> None:
    with pytest.raises(Invalid) as caught:
        AlertRule.parse({"name": "x", "model": "churn", "metric": "accuracy", "threshold": "hi"})
    assert caught.value.field == "threshold"
    with pytest.raises(NotFound, match="'ghost' does not exist"):
        monitoring_store().delete_rule("ghost")
    assert list_alert_rules() == []


class _Doubler:
    """A plain model answering floats: its signature says it regresses."""

    def predict(self, data: Any) -> Any:
        import numpy as np

        return np.asarray(data["x"], dtype=float) * 2


def test_a_rule_whose_metric_does_not_fit_the_task_is_refused(monitor_store: str) -> None:
    import pandas as pd

    import knot

    with knot.start_run("doubler"):
        knot.log_model(
            _Doubler(), registered_model_name="churn", input_example=pd.DataFrame({"x": [1.0]})
        )
    with pytest.raises(Invalid, match="use one of: mae, mse, rmse, r2"):
        set_alert_rule(
            AlertRule(name="bad", model="churn", metric="accuracy", op="<", threshold=0.7)
        )
    config = parse_config(
        {
            "model": "churn",
            "window": "1d",
            "rules": [
                {"name": "ok", "metric": "mae", "threshold": 3.0},
                {"name": "wrong", "metric": "f1", "threshold": 0.5},
            ],
        }
    )
    with pytest.raises(Invalid, match="'wrong'"):
        apply_config(config)
    assert list_alert_rules() == [] and get_monitor_settings("churn").window is None
    set_alert_rule(AlertRule(name="fits", model="churn", metric="mae", threshold=3.0))
    assert [r.name for r in list_alert_rules("churn")] == ["fits"]


def test_many_results_go_to_a_server_in_batches(
    monitor_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from knot.client import rest_monitoring

    monkeypatch.setattr(rest_monitoring, "BATCH", 3)  # this process's client: 7 points, 3 posts
    points = [_point(h, "accuracy", h / 10) for h in range(7)]
    assert save_results([*points, _point(6, "accuracy", 0.0)]) == 7
    assert [p.value for p in read_results("churn")] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.0]
    with pytest.raises(Invalid, match="window_end"):  # checked whole: nothing stored
        save_results([_point(7, "accuracy", 1.0)] * 4 + [_point(8, "rows", 1.0, window_end=0)])
    assert len(read_results("churn")) == 7
