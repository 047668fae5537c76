"""Alert rules: state kept so an alert fires once after k consecutive breaching windows,
resolves once, fires again later; events in the store, the lineage graph and a real
webhook receiver; bad rules rejected with the field named."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from knot.errors import Invalid, NotFound
from knot.governance.fluent import lineage
from knot.monitoring.alerts.events import (
    AlertRule,
    alert_events,
    alert_states,
    delete_alert_rule,
    evaluate,
    get_alert_rule,
    list_alert_rules,
    set_alert_rule,
)
from knot.monitoring.alerts.state import FIRING, OK, PENDING, RESOLVED, RuleState, change, step
from knot.monitoring.results import ResultPoint, save_results
from tests.monitoring.logs import HOUR

T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR


def _store(
    hour: int,
    value: float | None,
    metric: str = "accuracy",
    version: int = 1,
    served: float = 100.0,
) -> None:
    start = T0 + hour * HOUR
    save_results(
        [
            ResultPoint(
                model="churn",
                version=version,
                window="1h",
                window_start=start,
                window_end=start + HOUR,
                metric=metric,
                value=value,
            ),
            ResultPoint(
                model="churn",
                version=version,
                window="1h",
                window_start=start,
                window_end=start + HOUR,
                metric="served_rows",
                value=served,
            ),
        ]
    )


def _rule(**changes: Any) -> AlertRule:
    fields: dict[str, Any] = {
        "name": "low-accuracy",
        "model": "churn",
        "metric": "accuracy",
        "op": "<",
        "threshold": 0.8,
        "window": "1h",
        "consecutive": 2,
    }
    return AlertRule(**{**fields, **changes})


def test_the_state_machine() -> None:
    s = RuleState()
    s = step(s, True, 2)
    assert (s.state, s.streak) == (PENDING, 1)
    s = step(s, True, 2)
    assert s.state == FIRING
    assert change(RuleState(PENDING, 1), s)[1] == "fired"
    assert change(s, step(s, True, 2))[1] is None  # still firing: nothing new
    after, event = change(s, step(s, False, 2))
    assert (after.state, event) == (RESOLVED, "resolved")
    assert step(RuleState(PENDING, 1), False, 2) == RuleState(OK, 0)


def test_fires_once_after_k_windows_resolves_once_and_fires_again(monitor_store: str) -> None:
    set_alert_rule(_rule())
    _store(0, 0.9)
    assert evaluate("churn") == []
    _store(1, 0.7)
    assert evaluate("churn") == []
    assert alert_states("churn")["low-accuracy"]["state"] == PENDING
    _store(2, 0.6)
    (fired,) = evaluate("churn")
    assert (fired.state, fired.value, fired.window_start) == ("fired", 0.6, T0 + 2 * HOUR)
    assert evaluate("churn") == []  # the same windows again: nothing new
    _store(3, 0.5)
    assert evaluate("churn") == []  # still firing
    _store(4, 0.95)
    (resolved,) = evaluate("churn")
    assert resolved.state == "resolved"
    _store(5, 0.95)
    assert evaluate("churn") == []
    for hour in (6, 7):
        _store(hour, 0.1)
    (again,) = evaluate("churn")  # two windows stored between evaluations: one event
    assert (again.state, again.window_start) == ("fired", T0 + 7 * HOUR)
    states = [e.state for e in alert_events("churn")]
    assert states == ["fired", "resolved", "fired"]
    assert [e.state for e in alert_events("churn", state="fired")] == ["fired", "fired"]


def test_a_filling_window_is_judged_again_not_counted_twice(monitor_store: str) -> None:
    set_alert_rule(_rule(consecutive=2))
    _store(0, 0.5)
    assert evaluate("churn") == []
    _store(0, 0.4)  # more rows of the same window, still bad
    assert evaluate("churn") == []  # one window, not two
    assert alert_states("churn")["low-accuracy"]["streak"] == 1
    set_alert_rule(_rule(name="any-drop", consecutive=1))
    _store(1, 0.5)
    assert {e.rule for e in evaluate("churn")} == {"low-accuracy", "any-drop"}
    _store(1, 0.9)  # the window recovered before it closed
    assert {(e.rule, e.state) for e in evaluate("churn")} == {
        ("low-accuracy", "resolved"),
        ("any-drop", "resolved"),
    }


def test_windows_without_a_value_keep_the_state(monitor_store: str) -> None:
    set_alert_rule(_rule())
    _store(0, 0.5)
    _store(1, None)  # no labels in that hour
    _store(2, 0.5)
    (event,) = evaluate("churn")
    assert event.window_start == T0 + 2 * HOUR


def test_rules_follow_the_version_serving_most_rows_unless_pinned(monitor_store: str) -> None:
    set_alert_rule(_rule(consecutive=1))
    set_alert_rule(_rule(name="v2-only", consecutive=1, version=2))
    _store(0, 0.9, version=1)
    _store(0, 0.1, version=2, served=5.0)
    (event,) = evaluate("churn")
    assert (event.rule, event.version) == ("v2-only", 2)


def test_events_are_lineage_nodes_about_the_model_version(monitor_store: str) -> None:
    set_alert_rule(_rule(consecutive=1))
    _store(0, 0.5, version=3)
    (event,) = evaluate("churn")
    graph = lineage(f"alert:{event.id}", direction="down", depth=1)
    assert [(e.relation, e.to_kind, e.to_id) for e in graph.edges] == [
        ("concerns", "model_version", "churn/3")
    ]


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(_Receiver.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received.clear()
    _Receiver.status = 200
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_webhook_gets_each_event_and_failures_are_recorded(
    monitor_store: str, receiver: str
) -> None:
    set_alert_rule(_rule(consecutive=1, webhook=receiver))
    _store(0, 0.5)
    (fired,) = evaluate("churn")
    assert fired.webhook_status == "sent 200"
    (body,) = _Receiver.received
    assert body["alert"]["id"] == fired.id and body["alert"]["state"] == "fired"
    assert body["rule"]["name"] == "low-accuracy"
    _Receiver.status = 500
    _store(1, 0.95)
    (resolved,) = evaluate("churn")
    assert resolved.webhook_status == "failed: HTTP 500"
    assert [e.webhook_status for e in alert_events("churn")] == ["sent 200", "failed: HTTP 500"]


def test_an_unreachable_webhook_never_fails_the_evaluation(knot_home: Path) -> None:
    from tests.servers import free_port

    set_alert_rule(_rule(consecutive=1, webhook=f"http://127.0.0.1:{free_port()}/x"))
    _store(0, 0.5)
    (event,) = evaluate("churn")
    assert event.webhook_status is not None and event.webhook_status.startswith("failed: ")


def test_rules_are_stored_listed_replaced_deleted_and_audited(monitor_store: str) -> None:
    set_alert_rule(_rule())
    set_alert_rule(_rule(name="drifting", metric="drift.share", op=">", threshold=0.3))
    assert [r.name for r in list_alert_rules("churn")] == ["drifting", "low-accuracy"]
    _store(0, 0.5)
    evaluate("churn")
    set_alert_rule(_rule(webhook="http://127.0.0.1:9/x"))  # only the webhook: state kept
    assert alert_states("churn")["low-accuracy"]["streak"] == 1
    set_alert_rule(_rule(threshold=0.6))  # what it measures changed: state starts over
    assert alert_states("churn")["low-accuracy"]["streak"] == 0
    assert get_alert_rule("low-accuracy").threshold == 0.6
    delete_alert_rule("drifting")
    with pytest.raises(NotFound):
        get_alert_rule("drifting")
    from knot.governance.fluent import governance

    actions = [r.action for r in governance().audit_log(_query())]
    assert actions.count("alert_rule.set") == 4 and actions.count("alert_rule.delete") == 1


def _query() -> Any:
    from knot.governance.audit_query import AuditQuery

    return AuditQuery(entity_kind="alert_rule")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"metric": "happiness"}, "metric"),
        ({"metric": "drift."}, "metric"),
        ({"op": "=="}, "op"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"window": "sometimes"}, "window"),
        ({"consecutive": 0}, "consecutive"),
        ({"version": 0}, "version"),
        ({"webhook": "ftp://x"}, "webhook"),
        ({"name": "bad name!"}, "name"),
        ({"model": "no/slash"}, "model"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_rules_name_the_field(changes: dict[str, Any], field: str) -> None:
    data = {**_rule().model_dump(), **changes}
    with pytest.raises(Invalid) as caught:
        AlertRule.parse(data)
    assert caught.value.field == field
    assert repr(changes[next(iter(changes))])[:8] in caught.value.message


def test_a_rule_that_is_not_a_mapping() -> None:
    with pytest.raises(Invalid, match="must be a mapping"):
        AlertRule.parse(["accuracy", "<", 0.8])
