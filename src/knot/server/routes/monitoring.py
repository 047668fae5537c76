"""/api/v1/monitoring routes: monitor results, a model's monitor settings and rules,
alert rules, their evaluation and events, on the server's SQL store (SqlMonitoring).
Reading needs a viewer, changing an editor, as every route. Everything sent is checked
as the SDK checks it (the same rule and config parsers), and a refused request changes
nothing. The rule-metric-against-task check loads the model, so the client makes it
before it sends (knot.monitoring.alerts.rules)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel

from knot.errors import Invalid
from knot.monitoring.alerts.records import AlertEvent, Judged, RuleStatus
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.monitor_config import MonitorConfig, MonitorSettings, parse_config
from knot.monitoring.results import ResultPoint, check_points
from knot.monitoring.sql_store import SqlMonitoring
from knot.server.deps import get_store
from knot.server.routes.monitoring_schemas import (
    ConfigBody,
    EventId,
    MaybeModel,
    ModelName,
    Points,
    RuleBody,
    RuleName,
    VersionNumber,
    WebhookStatus,
    WindowQuery,
)
from knot.store.database import Database
from knot.tracking.protocol import TrackingStore

__all__ = ["router"]

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


def get_monitoring(store: Annotated[TrackingStore, Depends(get_store)]) -> SqlMonitoring:
    """FastAPI dependency: monitoring on the tracking store's database."""
    db = getattr(store, "db", None)
    if not isinstance(db, Database):
        raise Invalid("this server's store has no SQL database for monitoring", field="store")
    return SqlMonitoring(db)


Monitoring = Annotated[SqlMonitoring, Depends(get_monitoring)]


class Stored(BaseModel):
    stored: int


class Reference(BaseModel):
    reference: str | None


@router.post("/results")
def save_results(body: Points, monitoring: Monitoring) -> Stored:
    """Store result points (at most 10,000 a request), replacing earlier values of the
    same windows and metrics; all or none."""
    points = [ResultPoint(**p.model_dump()) for p in body.points]
    check_points(points)
    return Stored(stored=monitoring.save_results(points))


@router.get("/models/{model}/results")
def read_results(
    model: ModelName,
    monitoring: Monitoring,
    metric: Annotated[str | None, Query(max_length=256)] = None,
    window: WindowQuery = None,
    segment: Annotated[str, Query(max_length=512, description="'' for all traffic")] = "",
    all_segments: Annotated[bool, Query(description="every slice; `segment` is ignored")] = False,
    since_ms: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
) -> list[ResultPoint]:
    """The model's stored results, oldest window first; a `metric` ending in "." reads
    every metric with that prefix ("drift.")."""
    return monitoring.read_results(
        model,
        metric=metric,
        window=window,
        segment=None if all_segments else segment,
        since_ms=since_ms,
    )


@router.get("/results/latest")
def latest_results(monitoring: Monitoring, model: MaybeModel = None) -> list[ResultPoint]:
    """The newest window's whole-traffic results of each (model, version, window size,
    metric): what gauges show now."""
    return monitoring.latest_results(model)


@router.get("/models/{model}/settings")
def get_settings(model: ModelName, monitoring: Monitoring) -> MonitorSettings:
    """The model's monitor settings (all defaults when none were applied)."""
    return monitoring.get_settings(model)


@router.put("/models/{model}/config")
def apply_config(model: ModelName, body: ConfigBody, monitoring: Monitoring) -> MonitorConfig:
    """Store the model's settings and its rules in one transaction, as `knot monitor
    rules apply` does with a YAML file; a bad field stores nothing."""
    data = body.model_dump(exclude_unset=True)
    data["rules"] = [r.model_dump(exclude_none=True) for r in body.rules]
    return monitoring.apply_config(parse_config({**data, "model": model}, "monitor config"))


@router.get("/models/{model}/versions/{version}/training-reference")
def training_reference(
    model: ModelName, version: VersionNumber, monitoring: Monitoring
) -> Reference:
    """The dataset URI the training run of the version read (lineage), or null."""
    return Reference(reference=monitoring.training_reference(model, version))


@router.get("/rules")
def list_rules(monitoring: Monitoring, model: MaybeModel = None) -> list[AlertRule]:
    """Alert rules of `model` (or all), by name."""
    return monitoring.list_rules(model)


@router.get("/rules/{name}")
def get_rule(name: RuleName, monitoring: Monitoring) -> AlertRule:
    """One alert rule; 404 naming it when there is none."""
    return monitoring.get_rule(name)


@router.put("/rules/{name}")
def set_rule(name: RuleName, body: RuleBody, monitoring: Monitoring) -> AlertRule:
    """Create or replace the rule `name` (audited as alert_rule.set)."""
    return monitoring.set_rule(AlertRule.parse({**body.model_dump(), "name": name}))


@router.delete("/rules/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(name: RuleName, monitoring: Monitoring) -> None:
    """Remove the rule and its state; its events stay (audited as alert_rule.delete)."""
    monitoring.delete_rule(name)


@router.post("/models/{model}/evaluate")
def evaluate(model: ModelName, monitoring: Monitoring) -> list[Judged]:
    """Judge every rule of the model on the windows stored since it was last judged and
    record the events, each with its rule; the caller sends the rules' webhooks."""
    return monitoring.judge(model)


@router.put("/events/{event_id}/webhook-status", status_code=status.HTTP_204_NO_CONTENT)
def set_webhook_status(event_id: EventId, body: WebhookStatus, monitoring: Monitoring) -> None:
    """Record what the event's webhook answered ("sent 200", "failed: ...")."""
    monitoring.set_webhook_status(event_id, body.status)


@router.get("/models/{model}/events")
def alert_events(
    model: ModelName,
    monitoring: Monitoring,
    since_ms: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
    state: Literal["fired", "resolved"] | None = None,
) -> list[AlertEvent]:
    """The model's alert events, oldest first."""
    return monitoring.alert_events(model, since_ms=since_ms, state=state)


@router.get("/models/{model}/states")
def alert_states(model: ModelName, monitoring: Monitoring) -> dict[str, RuleStatus]:
    """Each rule of the model and its current state, streak and last value."""
    return monitoring.alert_states(model)
