"""Monitoring: alert rules, alert state and events, monitor results and settings.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("metric", sa.String(256), nullable=False),
        sa.Column("op", sa.String(4), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_size", sa.String(16), nullable=False),
        sa.Column("consecutive", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("webhook", sa.Text, nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
    )
    op.create_index("ix_alert_rules_model", "alert_rules", ["model"])
    op.create_table(
        "alert_state",
        sa.Column("rule", sa.String(256), sa.ForeignKey("alert_rules.name"), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("base_state", sa.String(16), nullable=False),
        sa.Column("base_streak", sa.Integer, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(256), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("metric", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("webhook_status", sa.Text, nullable=True),
    )
    op.create_index("ix_alert_events_model_at", "alert_events", ["model", "at_ms"])
    op.create_table(
        "monitor_results",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("window_size", sa.String(16), primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("metric", sa.String(256), primary_key=True),
        sa.Column("segment", sa.String(512), primary_key=True),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("computed_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_monitor_results_metric", "monitor_results", ["model", "metric", "window_start"]
    )
    op.create_table(
        "monitor_settings",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("reference", sa.String(512), nullable=True),
        sa.Column("segment", sa.String(256), nullable=True),
        sa.Column("window_size", sa.String(16), nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monitor_settings")
    op.drop_index("ix_monitor_results_metric", table_name="monitor_results")
    op.drop_table("monitor_results")
    op.drop_index("ix_alert_events_model_at", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_table("alert_state")
    op.drop_index("ix_alert_rules_model", table_name="alert_rules")
    op.drop_table("alert_rules")
