"""Alert evaluation: the session's monitoring store judges each rule's stored metric
series window by window and records the events (in the store, and as lineage nodes of
kind "alert" about the model version; see knot.monitoring.alerts.sql_judge), so an alert
fires once and resolves once; then each event goes to its rule's webhook from here, the
process that ran the evaluation, whether the store is SQL or a Knot server.

A webhook gets one JSON POST per event, with short timeouts; one that fails is logged
and its status recorded on the event, and never fails the monitor run.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from knot.monitoring.alerts.records import AlertEvent
from knot.monitoring.alerts.rules import (
    AlertRule,
    delete_alert_rule,
    get_alert_rule,
    list_alert_rules,
    set_alert_rule,
)
from knot.monitoring.stores import monitoring_store

__all__ = [
    "AlertEvent",
    "AlertRule",
    "alert_events",
    "alert_states",
    "delete_alert_rule",
    "evaluate",
    "get_alert_rule",
    "list_alert_rules",
    "set_alert_rule",
]

log = logging.getLogger("knot.monitoring")
_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def evaluate(model: str) -> list[AlertEvent]:
    """Judge every rule of `model` on the windows stored since it was last judged; the
    events this caused, oldest first (webhooks already sent)."""
    judged = monitoring_store().judge(model)
    return [_notify(j.event, j.rule) for j in judged]


def _notify(event: AlertEvent, rule: AlertRule) -> AlertEvent:
    if rule.webhook is None:
        return event
    payload = {"alert": event.model_dump(), "rule": rule.model_dump()}
    status = post_event(rule.webhook, payload)
    monitoring_store().set_webhook_status(event.id, status)
    return event.model_copy(update={"webhook_status": status})


def post_event(url: str, payload: dict[str, Any]) -> str:
    """POST `payload` to `url`; returns what happened ("sent 200", "failed: ...")."""
    try:
        response = httpx.post(url, json=payload, timeout=_TIMEOUT)
    except Exception as exc:  # a bad URL or a down receiver must not stop monitoring
        log.warning("alert webhook %s failed: %s", url, exc)
        return f"failed: {type(exc).__name__}: {exc}"
    if response.is_success:
        return f"sent {response.status_code}"
    log.warning("alert webhook %s answered %d", url, response.status_code)
    return f"failed: HTTP {response.status_code}"


def alert_events(
    model: str, *, since_ms: int | None = None, state: str | None = None
) -> list[AlertEvent]:
    """Events of `model`, oldest first; `state` "fired" or "resolved" filters them."""
    return monitoring_store().alert_events(model, since_ms=since_ms, state=state)


def alert_states(model: str) -> dict[str, dict[str, Any]]:
    """Each rule's current state ("ok", "pending", "firing", "resolved") and streak."""
    return {n: s.model_dump() for n, s in monitoring_store().alert_states(model).items()}
