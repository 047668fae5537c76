"""The monitoring area's tables (migration 0007), on the shared metadata of knot.store.schema.
SqlMonitoring (knot.monitoring.sql_store) keeps them on the tracking store's database.

Alert rules and their state are one row each; alert events and monitor results are
append-mostly history that reports plot over time. Times are integer milliseconds.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from knot.store.schema import metadata

__all__ = [
    "alert_events",
    "alert_rules",
    "alert_state",
    "monitor_results",
    "monitor_settings",
]

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("model", String(256), nullable=False),
    Column("metric", String(256), nullable=False),
    Column("op", String(4), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("window_size", String(16), nullable=False),
    Column("consecutive", Integer, nullable=False),
    Column("version", Integer, nullable=True),
    Column("webhook", Text, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(256), nullable=False),
    Index("ix_alert_rules_model", "model"),
)

# One row per rule. `base_*` is the state before the newest window was judged, so a
# window that is still filling is judged again from there rather than counted twice.
alert_state = Table(
    "alert_state",
    metadata,
    Column("rule", String(256), ForeignKey("alert_rules.name"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("streak", Integer, nullable=False),
    Column("base_state", String(16), nullable=False),
    Column("base_streak", Integer, nullable=False),
    Column("window_start", BigInteger, nullable=True),
    Column("value", Float, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("rule", String(256), nullable=False),
    Column("model", String(256), nullable=False),
    Column("version", Integer, nullable=True),
    Column("metric", String(256), nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", Float, nullable=True),
    Column("threshold", Float, nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("webhook_status", Text, nullable=True),
    Index("ix_alert_events_model_at", "model", "at_ms"),
)

# Recomputing a window replaces its rows (labels keep arriving for past windows).
# `segment` is "" for the whole traffic, else "column=value"; `detail` is JSON (a drift
# row's test, p-value and threshold).
monitor_results = Table(
    "monitor_results",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("window_size", String(16), primary_key=True),
    Column("window_start", BigInteger, primary_key=True, autoincrement=False),
    Column("metric", String(256), primary_key=True),
    Column("segment", String(512), primary_key=True),
    Column("window_end", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Column("detail", Text, nullable=True),
    Column("computed_at", BigInteger, nullable=False),
    Index("ix_monitor_results_metric", "model", "metric", "window_start"),
)

# Per model: the reference dataset drift compares against, when it is not the
# dataset the model version was trained on, the segment column results slice by, and
# the window `knot monitor run` uses when no rule names one.
monitor_settings = Table(
    "monitor_settings",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("reference", String(512), nullable=True),
    Column("segment", String(256), nullable=True),
    Column("window_size", String(16), nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(256), nullable=False),
)
