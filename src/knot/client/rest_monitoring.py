"""RestMonitoring: the MonitoringStore protocol over a Knot server's /api/v1/monitoring
routes (knot.server.routes.monitoring), with the same checks and errors as SqlMonitoring.
Rules are checked here before they are sent, so a bad one fails the same way on both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import TypeAdapter

from knot.client._http import ServerClient
from knot.monitoring.alerts.records import AlertEvent, Judged, RuleStatus
from knot.monitoring.alerts.rules import AlertRule, check_rule_name
from knot.monitoring.monitor_config import MonitorConfig, MonitorSettings
from knot.monitoring.results import ResultPoint, check_points

__all__ = ["RestMonitoring", "open_rest_monitoring"]

_POINTS = TypeAdapter(list[ResultPoint])
_RULES = TypeAdapter(list[AlertRule])
_EVENTS = TypeAdapter(list[AlertEvent])
_JUDGED = TypeAdapter(list[Judged])
_STATES = TypeAdapter(dict[str, RuleStatus])
#: the longest webhook status the server keeps (an exception's text can be long)
STATUS_MAX = 2000
#: result points per request (the server takes up to 10,000)
BATCH = 5000


def _key(p: ResultPoint) -> tuple[object, ...]:
    return (p.model, p.version, p.window, p.window_start, p.metric, p.segment)


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


def _q(part: str | int) -> str:
    return quote(str(part), safe="")


class RestMonitoring(ServerClient):
    """Monitoring of the Knot server at `uri` (http://host:port)."""

    base_path = "/api/v1/monitoring"

    # results ---------------------------------------------------------------------
    def save_results(self, points: Sequence[ResultPoint]) -> int:
        # checked whole before the first batch goes, so a bad point stores nothing; a
        # batch that fails later leaves the earlier ones stored, and sending the same
        # points again replaces them (results are keyed by window and metric)
        check_points(points)
        unique = {_key(p): p for p in points}  # the last of duplicates wins, as in SQL
        ordered = list(unique.values())
        stored = 0
        for i in range(0, len(ordered), BATCH):
            body = {"points": [p.model_dump() for p in ordered[i : i + BATCH]]}
            stored += int(orjson.loads(self._call("POST", "/results", body))["stored"])
        return stored

    def read_results(
        self,
        model: str,
        *,
        metric: str | None = None,
        window: str | None = None,
        segment: str | None = "",
        since_ms: int | None = None,
    ) -> list[ResultPoint]:
        params: dict[str, str | int] = {}
        if metric is not None:
            params["metric"] = metric
        if window is not None:
            params["window"] = window
        if segment is None:
            params["all_segments"] = "true"
        else:
            params["segment"] = segment
        if since_ms is not None:
            params["since_ms"] = since_ms
        data = self._call("GET", f"/models/{_q(model)}/results", params=params)
        return _POINTS.validate_json(data)

    def latest_results(self, model: str | None = None) -> list[ResultPoint]:
        params = {"model": model} if model is not None else None
        return _POINTS.validate_json(self._call("GET", "/results/latest", params=params))

    # settings ---------------------------------------------------------------------
    def apply_config(self, config: MonitorConfig) -> MonitorConfig:
        s = config.settings
        body = {
            "reference": s.reference,
            "segment": s.segment,
            "window": s.window,
            "rules": [
                {k: v for k, v in r.model_dump().items() if k != "model"} for r in config.rules
            ],
        }
        data = self._call("PUT", f"/models/{_q(s.model)}/config", body)
        return MonitorConfig.model_validate_json(data)

    def get_settings(self, model: str) -> MonitorSettings:
        return MonitorSettings.model_validate_json(
            self._call("GET", f"/models/{_q(model)}/settings")
        )

    def training_reference(self, model: str, version: int) -> str | None:
        path = f"/models/{_q(model)}/versions/{_q(version)}/training-reference"
        found: str | None = orjson.loads(self._call("GET", path))["reference"]
        return found

    # alert rules -------------------------------------------------------------------
    def set_rule(self, rule: AlertRule) -> AlertRule:
        body = _without(rule.model_dump(), "name")
        data = self._call("PUT", f"/rules/{_q(check_rule_name(rule.name))}", body)
        return AlertRule.model_validate_json(data)

    def get_rule(self, name: str) -> AlertRule:
        return AlertRule.model_validate_json(self._call("GET", f"/rules/{_q(name)}"))

    def list_rules(self, model: str | None = None) -> list[AlertRule]:
        params = {"model": model} if model is not None else None
        return _RULES.validate_json(self._call("GET", "/rules", params=params))

    def delete_rule(self, name: str) -> None:
        self._call("DELETE", f"/rules/{_q(name)}")

    # evaluation and events -----------------------------------------------------------
    def judge(self, model: str) -> list[Judged]:
        return _JUDGED.validate_json(self._call("POST", f"/models/{_q(model)}/evaluate"))

    def set_webhook_status(self, event_id: str, status: str) -> None:
        body = {"status": status[:STATUS_MAX]}
        self._call("PUT", f"/events/{_q(event_id)}/webhook-status", body)

    def alert_events(
        self, model: str, *, since_ms: int | None = None, state: str | None = None
    ) -> list[AlertEvent]:
        params: dict[str, str | int] = {}
        if since_ms is not None:
            params["since_ms"] = since_ms
        if state is not None:
            params["state"] = state
        return _EVENTS.validate_json(
            self._call("GET", f"/models/{_q(model)}/events", params=params)
        )

    def alert_states(self, model: str) -> dict[str, RuleStatus]:
        return _STATES.validate_json(self._call("GET", f"/models/{_q(model)}/states"))


def open_rest_monitoring(uri: str, tracking: object = None) -> RestMonitoring:
    """Monitoring at `uri`, sharing the tracking client's connection pool when given one."""
    client = getattr(tracking, "_client", None)
    return RestMonitoring(uri, client=client if isinstance(client, httpx.Client) else None)
