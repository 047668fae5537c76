"""SqlMonitoring: the MonitoringStore protocol on a SQL database (SQLite or PostgreSQL),
usually the tracking store's own, so monitoring shares its engine; `knot server` serves
one of these for every remote client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from knot.errors import NotFound
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.governance.lineage import edges_to
from knot.monitoring.alerts import sql_judge, sql_rules
from knot.monitoring.alerts.records import AlertEvent, Judged, RuleStatus
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.monitor_config import MonitorConfig, MonitorSettings
from knot.monitoring.results import ResultPoint
from knot.monitoring.sql_results import select_latest, select_points, write_points
from knot.monitoring.tables import monitor_settings
from knot.store.database import Database, now_ms

__all__ = ["SqlMonitoring"]


class SqlMonitoring:
    """Monitoring on `db`; `owns` says whether close() closes it (it does not when the
    database is the tracking store's)."""

    def __init__(self, db: Database, *, owns: bool = False) -> None:
        self.db = db
        self.uri = db.uri
        self._owns = owns

    def __repr__(self) -> str:
        return f"SqlMonitoring({self.uri!r})"

    # results ---------------------------------------------------------------------
    def save_results(self, points: Sequence[ResultPoint]) -> int:
        if not points:
            return 0
        with self.db.write() as conn:
            return write_points(conn, points)

    def read_results(
        self,
        model: str,
        *,
        metric: str | None = None,
        window: str | None = None,
        segment: str | None = "",
        since_ms: int | None = None,
    ) -> list[ResultPoint]:
        with self.db.read() as conn:
            return select_points(
                conn, model, metric=metric, window=window, segment=segment, since_ms=since_ms
            )

    def latest_results(self, model: str | None = None) -> list[ResultPoint]:
        with self.db.read() as conn:
            return select_latest(conn, model)

    # settings ---------------------------------------------------------------------
    def apply_config(self, config: MonitorConfig) -> MonitorConfig:
        s = config.settings
        t = monitor_settings
        with self.db.write() as conn:
            before = conn.execute(select(t).where(t.c.model == s.model)).first()
            conn.execute(delete(t).where(t.c.model == s.model))
            conn.execute(
                t.insert(),
                {
                    "model": s.model,
                    "reference": s.reference,
                    "segment": s.segment,
                    "window_size": s.window,
                    "updated_at": now_ms(),
                    "updated_by": current_actor(),
                },
            )
            old = _settings(before).model_dump() if before is not None else None
            if old != s.model_dump():
                audit.record(conn, "monitor.settings", "model", s.model, old, s.model_dump())
            for rule in config.rules:
                sql_rules.write_rule(conn, rule)
        return config

    def get_settings(self, model: str) -> MonitorSettings:
        t = monitor_settings
        with self.db.read() as conn:
            row = conn.execute(select(t).where(t.c.model == model)).first()
        return _settings(row) if row is not None else MonitorSettings(model=model)

    def training_reference(self, model: str, version: int) -> str | None:
        with self.db.read() as conn:
            runs = [
                e.from_id
                for e in edges_to(conn, "model_version", f"{model}/{version}")
                if e.from_kind == "run"
            ]
            for run_id in runs:
                datasets = [
                    e.from_id
                    for e in edges_to(conn, "run", run_id)
                    if e.from_kind == "dataset" and e.relation == "input"
                ]
                if datasets:
                    return f"dataset:{datasets[0]}"
        return None

    # alert rules -------------------------------------------------------------------
    def set_rule(self, rule: AlertRule) -> AlertRule:
        with self.db.write() as conn:
            sql_rules.write_rule(conn, rule)
        return rule

    def get_rule(self, name: str) -> AlertRule:
        with self.db.read() as conn:
            return sql_rules.select_rule(conn, name)

    def list_rules(self, model: str | None = None) -> list[AlertRule]:
        with self.db.read() as conn:
            return sql_rules.select_rules(conn, model)

    def delete_rule(self, name: str) -> None:
        with self.db.write() as conn:
            sql_rules.delete_rule(conn, name)

    # evaluation and events -----------------------------------------------------------
    def judge(self, model: str) -> list[Judged]:
        judged: list[Judged] = []
        for rule in self.list_rules(model):
            # one transaction per rule: a rule judged is kept even if a later one fails
            with self.db.write() as conn:
                events = sql_judge.judge_rule(conn, rule)
            judged.extend(Judged(event=e, rule=rule) for e in events)
        return judged

    def set_webhook_status(self, event_id: str, status: str) -> None:
        with self.db.write() as conn:
            found = sql_judge.set_webhook_status(conn, event_id, status)
        if not found:
            raise NotFound(
                f"alert event {event_id!r} does not exist; list events with "
                "`knot monitor alerts MODEL`",
                field="event",
            )

    def alert_events(
        self, model: str, *, since_ms: int | None = None, state: str | None = None
    ) -> list[AlertEvent]:
        with self.db.read() as conn:
            return sql_judge.select_events(conn, model, since_ms=since_ms, state=state)

    def alert_states(self, model: str) -> dict[str, RuleStatus]:
        with self.db.read() as conn:
            return sql_judge.select_states(conn, model)

    def close(self) -> None:
        if self._owns:
            self.db.close()


def _settings(row: Any) -> MonitorSettings:
    return MonitorSettings(
        model=row.model, reference=row.reference, segment=row.segment, window=row.window_size
    )
