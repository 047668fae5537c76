"""/api/v1/monitoring routes: monitor results, a model's monitor settings and rules,
alert rules, their evaluation and events, on the server's SQL store (SqlMonitoring).
Reading needs a viewer, changing an editor, as every route. Everything sent is checked
as the SDK checks it (the same rule and config parsers), and a refused request changes
nothing. The rule-metric-against-task check loads the model, so the client makes it
before it sends (knot.monitoring.alerts.rules)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from knot.errors import Invalid
from knot.monitoring.alerts.records import AlertEvent, Judged, RuleStatus
from knot.monitoring.alerts.rules import AlertRule, check_rule_name
from knot.monitoring.monitor_config import MonitorConfig, MonitorSettings, parse_config
from knot.monitoring.results import ResultPoint, check_points
from knot.monitoring.sql_store import SqlMonitoring
from knot.monitoring.windows import parse_window
from knot.refs import check_model_name
from knot.server.deps import get_store
from knot.store.database import Database
from knot.tracking.protocol import TrackingStore

__all__ = ["router"]

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_POINTS = 10_000


def get_monitoring(store: Annotated[TrackingStore, Depends(get_store)]) -> SqlMonitoring:
    """FastAPI dependency: monitoring on the tracking store's database."""
    db = getattr(store, "db", None)
    if not isinstance(db, Database):
        raise Invalid("this server's store has no SQL database for monitoring", field="store")
    return SqlMonitoring(db)


Monitoring = Annotated[SqlMonitoring, Depends(get_monitoring)]


def _model(name: str) -> str:
    try:
        return check_model_name(name)
    except Invalid as exc:
        raise Invalid(exc.message, field="model") from None


class Points(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: Annotated[list[ResultPoint], Field(max_length=_MAX_POINTS)]


class Stored(BaseModel):
    stored: int


class Reference(BaseModel):
    reference: str | None


class WebhookStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Annotated[str, Field(min_length=1, max_length=2000)]


@router.post("/results")
def save_results(body: Points, monitoring: Monitoring) -> Stored:
    """Store result points (at most 10,000 a request), replacing earlier values of the
    same windows and metrics; all or none."""
    check_points(body.points)
    return Stored(stored=monitoring.save_results(body.points))


@router.get("/models/{model}/results")
def read_results(
    model: str,
    monitoring: Monitoring,
    metric: Annotated[str | None, Query(max_length=256)] = None,
    window: Annotated[str | None, Query(description="15m, 1h, 1d, ...")] = None,
    segment: Annotated[str, Query(max_length=512, description="'' for all traffic")] = "",
    all_segments: Annotated[bool, Query(description="every slice; `segment` is ignored")] = False,
    since_ms: int | None = None,
) -> list[ResultPoint]:
    """The model's stored results, oldest window first; a `metric` ending in "." reads
    every metric with that prefix ("drift.")."""
    if window is not None:
        parse_window(window)
    return monitoring.read_results(
        _model(model),
        metric=metric,
        window=window,
        segment=None if all_segments else segment,
        since_ms=since_ms,
    )


@router.get("/results/latest")
def latest_results(monitoring: Monitoring, model: str | None = None) -> list[ResultPoint]:
    """The newest window's whole-traffic results of each (model, version, window size,
    metric): what gauges show now."""
    return monitoring.latest_results(_model(model) if model is not None else None)


@router.get("/models/{model}/settings")
def get_settings(model: str, monitoring: Monitoring) -> MonitorSettings:
    """The model's monitor settings (all defaults when none were applied)."""
    return monitoring.get_settings(_model(model))


@router.put("/models/{model}/config")
def apply_config(
    model: str,
    monitoring: Monitoring,
    body: Annotated[dict[str, Any], Body(description="reference, segment, window, rules")],
) -> MonitorConfig:
    """Store the model's settings and its rules in one transaction, as `knot monitor
    rules apply` does with a YAML file; a bad field stores nothing."""
    _model(model)
    if "model" in body and body["model"] != model:
        raise Invalid(
            f"the body names model {body['model']!r} but the path {model!r}; send one model",
            field="model",
        )
    config = parse_config({**body, "model": model}, "monitor config")
    return monitoring.apply_config(config)


@router.get("/models/{model}/versions/{version}/training-reference")
def training_reference(
    model: str, version: Annotated[int, Path(ge=1)], monitoring: Monitoring
) -> Reference:
    """The dataset URI the training run of the version read (lineage), or null."""
    return Reference(reference=monitoring.training_reference(_model(model), version))


@router.get("/rules")
def list_rules(monitoring: Monitoring, model: str | None = None) -> list[AlertRule]:
    """Alert rules of `model` (or all), by name."""
    return monitoring.list_rules(_model(model) if model is not None else None)


@router.get("/rules/{name}")
def get_rule(name: str, monitoring: Monitoring) -> AlertRule:
    """One alert rule; 404 naming it when there is none."""
    return monitoring.get_rule(check_rule_name(name))


@router.put("/rules/{name}")
def set_rule(
    name: str,
    monitoring: Monitoring,
    body: Annotated[dict[str, Any], Body(description="model, metric, op, threshold, ...")],
) -> AlertRule:
    """Create or replace the rule `name` (audited as alert_rule.set)."""
    check_rule_name(name)
    if "name" in body and body["name"] != name:
        raise Invalid(
            f"the body names rule {body['name']!r} but the path {name!r}; send one name",
            field="name",
        )
    return monitoring.set_rule(AlertRule.parse({**body, "name": name}))


@router.delete("/rules/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(name: str, monitoring: Monitoring) -> None:
    """Remove the rule and its state; its events stay (audited as alert_rule.delete)."""
    monitoring.delete_rule(check_rule_name(name))


@router.post("/models/{model}/evaluate")
def evaluate(model: str, monitoring: Monitoring) -> list[Judged]:
    """Judge every rule of the model on the windows stored since it was last judged and
    record the events, each with its rule; the caller sends the rules' webhooks."""
    return monitoring.judge(_model(model))


@router.put("/events/{event_id}/webhook-status", status_code=status.HTTP_204_NO_CONTENT)
def set_webhook_status(event_id: str, body: WebhookStatus, monitoring: Monitoring) -> None:
    """Record what the event's webhook answered ("sent 200", "failed: ...")."""
    if not _EVENT_ID.match(event_id):
        raise Invalid(
            f"alert event id {event_id[:80]!r} is not one: ids are 32 hex digits, as "
            "`knot monitor alerts MODEL --json` shows them",
            field="event",
        )
    monitoring.set_webhook_status(event_id, body.status)


@router.get("/models/{model}/events")
def alert_events(
    model: str,
    monitoring: Monitoring,
    since_ms: int | None = None,
    state: Annotated[str | None, Query(description="fired or resolved")] = None,
) -> list[AlertEvent]:
    """The model's alert events, oldest first."""
    if state is not None and state not in ("fired", "resolved"):
        raise Invalid(f"state {state[:80]!r} is not known; use fired or resolved", field="state")
    return monitoring.alert_events(_model(model), since_ms=since_ms, state=state)


@router.get("/models/{model}/states")
def alert_states(model: str, monitoring: Monitoring) -> dict[str, RuleStatus]:
    """Each rule of the model and its current state, streak and last value."""
    return monitoring.alert_states(_model(model))
