"""MonitoringStore: monitor results, monitor settings, alert rules, their evaluation and
events, on a SQL database (SqlMonitoring) or through a Knot server (the REST client).

Chosen by the metadata store's URI scheme, as the tracking store is (knot.backends), so
`knot monitor ...` and the SDK work the same against a local store and `knot server`.
Checks that load a model (an alert rule's metric against the model's task) and
webhooks run in the caller (knot.monitoring.alerts), not in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from knot.monitoring.alerts.records import AlertEvent, Judged, RuleStatus
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.monitor_config import MonitorConfig, MonitorSettings
from knot.monitoring.results import ResultPoint

__all__ = ["MonitoringStore"]


class MonitoringStore(Protocol):
    uri: str

    # results ---------------------------------------------------------------------
    def save_results(self, points: Sequence[ResultPoint]) -> int:
        """Store `points`, replacing earlier values of the same windows and metrics;
        how many were stored (the last of duplicates wins)."""
        ...

    def read_results(
        self,
        model: str,
        *,
        metric: str | None = None,
        window: str | None = None,
        segment: str | None = "",
        since_ms: int | None = None,
    ) -> list[ResultPoint]:
        """Stored results of `model`, oldest window first; `segment=None` reads every
        slice, `metric` ending in "." every metric with that prefix ("drift.")."""
        ...

    def latest_results(self, model: str | None = None) -> list[ResultPoint]:
        """The newest window's whole-traffic results of each (model, version, window
        size, metric)."""
        ...

    # settings ---------------------------------------------------------------------
    def apply_config(self, config: MonitorConfig) -> MonitorConfig:
        """Store a model's settings and rules in one transaction (audited)."""
        ...

    def get_settings(self, model: str) -> MonitorSettings:
        """The stored settings of `model` (all defaults when none were applied)."""
        ...

    def training_reference(self, model: str, version: int) -> str | None:
        """The first dataset URI the training run of the version read (lineage)."""
        ...

    # alert rules -------------------------------------------------------------------
    def set_rule(self, rule: AlertRule) -> AlertRule:
        """Create or replace the rule named `rule.name` (audited)."""
        ...

    def get_rule(self, name: str) -> AlertRule:
        """The rule named `name`; NotFound otherwise."""
        ...

    def list_rules(self, model: str | None = None) -> list[AlertRule]:
        """Rules of `model` (or all), by name."""
        ...

    def delete_rule(self, name: str) -> None:
        """Remove a rule and its state (its events stay); NotFound if there is none."""
        ...

    # evaluation and events -----------------------------------------------------------
    def judge(self, model: str) -> list[Judged]:
        """Judge every rule of `model` on the windows stored since it was last judged,
        recording the events (webhooks not sent); oldest first."""
        ...

    def set_webhook_status(self, event_id: str, status: str) -> None:
        """Record what the event's webhook answered; NotFound for an unknown event."""
        ...

    def alert_events(
        self, model: str, *, since_ms: int | None = None, state: str | None = None
    ) -> list[AlertEvent]:
        """Events of `model`, oldest first; `state` "fired" or "resolved" filters them."""
        ...

    def alert_states(self, model: str) -> dict[str, RuleStatus]:
        """Each rule of `model` and its current state."""
        ...

    def close(self) -> None: ...
