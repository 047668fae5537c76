"""Alert evaluation on a SQL database: each rule's stored metric series judged window by
window in one transaction per rule, events recorded (in alert_events, and as lineage
nodes of kind "alert" about the model version), each rule's state kept, so an alert
fires once and resolves once. Webhooks are sent by the caller afterwards
(knot.monitoring.alerts.events), never inside a transaction.

The newest window may still be filling; it is judged again on every evaluation from the
state before it, so it is never counted twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, select

from knot.governance.lineage import Edge, add_edges
from knot.monitoring import tables
from knot.monitoring.alerts.records import AlertEvent, RuleStatus
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.alerts.sql_rules import select_rules
from knot.monitoring.alerts.state import RuleState, change, step
from knot.monitoring.results import ResultPoint
from knot.monitoring.sql_results import select_points
from knot.store.database import now_ms

__all__ = ["judge_rule", "select_events", "select_states", "set_webhook_status"]


def judge_rule(conn: Connection, rule: AlertRule) -> list[AlertEvent]:
    """Judge `rule` on the windows stored since it was last judged; the events this
    caused, oldest first."""
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
    points = select_points(conn, rule.model, metric=rule.metric, window=rule.window, since_ms=since)
    if rule.version is not None:
        chosen = [p for p in points if p.version == rule.version]
    else:
        served = select_points(
            conn, rule.model, metric="served_rows", window=rule.window, since_ms=since
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


def set_webhook_status(conn: Connection, event_id: str, status: str) -> bool:
    """Record what the event's webhook answered; False when there is no such event."""
    t = tables.alert_events
    done = conn.execute(t.update().where(t.c.id == event_id), {"webhook_status": status})
    return done.rowcount > 0


def select_events(
    conn: Connection, model: str, *, since_ms: int | None = None, state: str | None = None
) -> list[AlertEvent]:
    """Events of `model`, oldest first; `state` "fired" or "resolved" filters them."""
    t = tables.alert_events
    query = select(t).where(t.c.model == model)
    if since_ms is not None:
        query = query.where(t.c.at_ms >= since_ms)
    if state is not None:
        query = query.where(t.c.state == state)
    rows = conn.execute(query.order_by(t.c.at_ms, t.c.window_start)).all()
    return [AlertEvent(**r._mapping) for r in rows]


def select_states(conn: Connection, model: str) -> dict[str, RuleStatus]:
    """Each rule of `model` and its current state (ok before it was first judged)."""
    names = [r.name for r in select_rules(conn, model)]
    rows = conn.execute(
        select(tables.alert_state).where(tables.alert_state.c.rule.in_(names))
    ).all()
    found = {r.rule: RuleStatus(state=r.state, streak=r.streak, value=r.value) for r in rows}
    return {n: found.get(n, RuleStatus()) for n in names}
