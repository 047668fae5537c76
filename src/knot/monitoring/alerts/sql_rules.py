"""Alert rules on a SQL database: one row per rule, every change audited in the
transaction that makes it. SqlMonitoring (knot.monitoring.sql_store) calls these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from knot.errors import NotFound
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.tables import alert_rules, alert_state
from knot.store.database import now_ms

__all__ = ["delete_rule", "select_rule", "select_rules", "write_rule"]

# what a rule measures: changing any of these starts its state over
_MEASURED = ("model", "metric", "op", "threshold", "window_size", "consecutive", "version")


def _row(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "model": rule.model,
        "metric": rule.metric,
        "op": rule.op,
        "threshold": rule.threshold,
        "window_size": rule.window,
        "consecutive": rule.consecutive,
        "version": rule.version,
        "webhook": rule.webhook,
    }


def _rule(row: Any) -> AlertRule:
    return AlertRule(
        name=row.name,
        model=row.model,
        metric=row.metric,
        op=row.op,
        threshold=row.threshold,
        window=row.window_size,
        consecutive=row.consecutive,
        version=row.version,
        webhook=row.webhook,
    )


def write_rule(conn: Connection, rule: AlertRule) -> None:
    """Create or replace the rule named `rule.name` inside the caller's transaction
    (applying a file is one). Changing what a rule measures starts its state over;
    changing only its webhook keeps it."""
    before = conn.execute(select(alert_rules).where(alert_rules.c.name == rule.name)).first()
    row = {**_row(rule), "updated_at": now_ms(), "updated_by": current_actor()}
    old = _row(_rule(before)) if before is not None else None
    if old == _row(rule):
        return
    if old is None:
        conn.execute(alert_rules.insert(), row)
    else:
        conn.execute(alert_rules.update().where(alert_rules.c.name == rule.name), row)
        if any(old[k] != row[k] for k in _MEASURED):
            conn.execute(delete(alert_state).where(alert_state.c.rule == rule.name))
    audit.record(conn, "alert_rule.set", "alert_rule", rule.name, old, _row(rule))


def select_rule(conn: Connection, name: str) -> AlertRule:
    """The rule named `name`; NotFound says how to list the ones that exist."""
    row = conn.execute(select(alert_rules).where(alert_rules.c.name == name)).first()
    if row is None:
        raise NotFound(
            f"alert rule {name!r} does not exist; list rules with `knot monitor rules list`",
            field="name",
        )
    return _rule(row)


def select_rules(conn: Connection, model: str | None) -> list[AlertRule]:
    """Rules of `model` (or all), by name."""
    query = select(alert_rules).order_by(alert_rules.c.name)
    if model is not None:
        query = query.where(alert_rules.c.model == model)
    return [_rule(r) for r in conn.execute(query)]


def delete_rule(conn: Connection, name: str) -> None:
    """Remove a rule and its state (its events stay in the history); audited."""
    rule = select_rule(conn, name)
    conn.execute(delete(alert_state).where(alert_state.c.rule == name))
    conn.execute(delete(alert_rules).where(alert_rules.c.name == name))
    audit.record(conn, "alert_rule.delete", "alert_rule", name, _row(rule), None)
