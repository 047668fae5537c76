"""Alert evaluation: each rule's stored metric series judged window by window, events
recorded (in the store, as lineage nodes of kind "alert" about the model version, and to
the rule's webhook), so an alert fires once and resolves once.

A webhook gets one JSON POST per event, with short timeouts; one that fails is logged
and its status recorded on the event, and never fails the monitor run.

The newest window may still be filling; it is judged again on every evaluation from the
state before it, so it is never counted twice.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select

from knot.governance.lineage import Edge, add_edges
from knot.monitoring import tables
from knot.monitoring.alerts.rules import (
    AlertRule,
    delete_alert_rule,
    get_alert_rule,
    list_alert_rules,
    set_alert_rule,
)
from knot.monitoring.alerts.state import RuleState, change, step
from knot.monitoring.results import ResultPoint, read_results
from knot.monitoring.tables import monitor_db
from knot.store.database import now_ms

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


class AlertEvent(BaseModel):
    """One alert firing or resolving; `id` is also its lineage node ("alert", id)."""

    model_config = ConfigDict(frozen=True)

    id: str
    rule: str
    model: str
    version: int | None
    metric: str
    state: str  # "fired" or "resolved"
    value: float | None
    threshold: float
    window_start: int
    window_end: int
    at_ms: int
    webhook_status: str | None = None  # "sent 200", "failed: ..." or None without a webhook


def evaluate(model: str) -> list[AlertEvent]:
    """Judge every rule of `model` on the windows stored since it was last judged; the
    events this caused, oldest first (webhooks already sent)."""
    events: list[tuple[AlertEvent, AlertRule]] = []
    for rule in list_alert_rules(model):
        with monitor_db().write() as conn:
            events.extend((e, rule) for e in _evaluate_rule(conn, rule))
    return [_notify(e, rule) for e, rule in events]


def _evaluate_rule(conn: Connection, rule: AlertRule) -> list[AlertEvent]:
    saved = conn.execute(
        select(tables.alert_state).where(tables.alert_state.c.rule == rule.name)
    ).first()
    since = saved.window_start if saved is not None else None
    windows = _series(conn, rule, since)
    if not windows:
        return []
    current = RuleState(saved.state, saved.streak) if saved else RuleState()
    base = RuleState(saved.base_state, saved.base_streak) if saved else RuleState()
    judged_start, judged_value = since, saved.value if saved else None
    events = []
    for point in windows:
        if point.window_start != since:
            base = current  # a new window: it starts from where the last one ended
        assert point.value is not None
        judged = step(base, rule.breached(point.value), rule.consecutive)
        after, event = change(current, judged)
        if event is not None:
            events.append(_record(conn, rule, point, event))
        current, judged_start, judged_value = after, point.window_start, point.value
        since = point.window_start
    _save_state(conn, rule.name, saved is not None, current, base, judged_start, judged_value)
    return events


def _series(conn: Connection, rule: AlertRule, since: int | None) -> list[ResultPoint]:
    """The rule's values per window: its pinned version's, or else the version that
    served most rows in each window. Windows without a value are left out."""
    points = read_results(
        rule.model, metric=rule.metric, window=rule.window, since_ms=since, conn=conn
    )
    if rule.version is not None:
        chosen = [p for p in points if p.version == rule.version]
    else:
        served = read_results(
            rule.model, metric="served_rows", window=rule.window, since_ms=since, conn=conn
        )
        top: dict[int, tuple[float, int]] = {}
        for s in served:
            best = top.get(s.window_start)
            if best is None or (s.value or 0) > best[0]:
                top[s.window_start] = (s.value or 0, s.version)
        chosen = [p for p in points if top.get(p.window_start, (0, p.version))[1] == p.version]
    by_window = {p.window_start: p for p in chosen if p.value is not None}
    return [by_window[k] for k in sorted(by_window)]


def _record(conn: Connection, rule: AlertRule, point: ResultPoint, state: str) -> AlertEvent:
    event = AlertEvent(
        id=uuid.uuid4().hex,
        rule=rule.name,
        model=rule.model,
        version=point.version,
        metric=rule.metric,
        state=state,
        value=point.value,
        threshold=rule.threshold,
        window_start=point.window_start,
        window_end=point.window_end,
        at_ms=now_ms(),
    )
    conn.execute(tables.alert_events.insert(), event.model_dump())
    node = f"{rule.model}/{point.version}"
    add_edges(conn, [Edge("alert", event.id, "concerns", "model_version", node)])
    return event


def _save_state(
    conn: Connection,
    rule: str,
    exists: bool,
    current: RuleState,
    base: RuleState,
    start: int | None,
    value: float | None,
) -> None:
    row = {
        "rule": rule,
        "state": current.state,
        "streak": current.streak,
        "base_state": base.state,
        "base_streak": base.streak,
        "window_start": start,
        "value": value,
        "updated_at": now_ms(),
    }
    if exists:
        conn.execute(tables.alert_state.update().where(tables.alert_state.c.rule == rule), row)
    else:
        conn.execute(tables.alert_state.insert(), row)


def _notify(event: AlertEvent, rule: AlertRule) -> AlertEvent:
    if rule.webhook is None:
        return event
    payload = {"alert": event.model_dump(), "rule": rule.model_dump()}
    status = post_event(rule.webhook, payload)
    with monitor_db().write() as conn:
        conn.execute(
            tables.alert_events.update().where(tables.alert_events.c.id == event.id),
            {"webhook_status": status},
        )
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
    t = tables.alert_events
    query = select(t).where(t.c.model == model)
    if since_ms is not None:
        query = query.where(t.c.at_ms >= since_ms)
    if state is not None:
        query = query.where(t.c.state == state)
    with monitor_db().read() as conn:
        rows = conn.execute(query.order_by(t.c.at_ms, t.c.window_start)).all()
    return [AlertEvent(**r._mapping) for r in rows]


def alert_states(model: str) -> dict[str, dict[str, Any]]:
    """Each rule's current state ("ok", "pending", "firing", "resolved") and streak."""
    names = [r.name for r in list_alert_rules(model)]
    with monitor_db().read() as conn:
        rows = conn.execute(
            select(tables.alert_state).where(tables.alert_state.c.rule.in_(names))
        ).all()
    found = {r.rule: {"state": r.state, "streak": r.streak, "value": r.value} for r in rows}
    return {n: found.get(n, {"state": "ok", "streak": 0, "value": None}) for n in names}
