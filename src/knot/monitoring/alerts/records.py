"""What alert evaluation records: an event per alert firing or resolving, and the rule
that caused it (so the caller can send the rule's webhook after the store judged)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from knot.monitoring.alerts.rules import AlertRule

__all__ = ["AlertEvent", "Judged", "RuleStatus"]


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


class Judged(BaseModel):
    """An event a store's evaluation recorded, with the rule as it was judged."""

    model_config = ConfigDict(frozen=True)

    event: AlertEvent
    rule: AlertRule


class RuleStatus(BaseModel):
    """A rule's current state ("ok", "pending", "firing", "resolved"), its streak of
    breaching windows and the last value judged."""

    model_config = ConfigDict(frozen=True)

    state: str = "ok"
    streak: int = 0
    value: float | None = None
