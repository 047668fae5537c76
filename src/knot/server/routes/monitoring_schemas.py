"""What the /api/v1/monitoring routes accept, stated in the OpenAPI document: names,
windows, metrics, numbers and lengths as the tables hold them, so a request the document
allows is one the store takes, and one it forbids is refused (422) before any handler
runs. What a JSON Schema cannot state (a window that ends before it starts, a rule
named twice in a config) the routes check with the SDK's own parsers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, Strict

from knot.monitoring.alerts.rules import METRICS, OPS, RULE_NAME_PATTERN, WINDOW_MAX
from knot.refs import MAX_VERSION, MODEL_NAME_PATTERN
from knot.tracking.entities import AS_WHOLE, within

__all__ = [
    "ConfigBody",
    "EventId",
    "MaybeModel",
    "ModelName",
    "Points",
    "RuleBody",
    "RuleName",
    "VersionNumber",
    "WebhookStatus",
    "WindowQuery",
]

_WINDOW = r"^\s*0*[1-9][0-9]*\s*[smhdw]\s*$"
_METRIC = "^(?:" + "|".join(m.replace(".", r"\.") for m in METRICS) + r"|drift\..+)$"

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="a model's name")]
MaybeModel = Annotated[
    str | None, Query(pattern=MODEL_NAME_PATTERN, description="only this model's")
]
RuleName = Annotated[str, Path(pattern=RULE_NAME_PATTERN, description="an alert rule's name")]
EventId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="an alert event's id")]
VersionNumber = Annotated[int, Path(ge=1, lt=MAX_VERSION, description="a model version")]
WindowQuery = Annotated[
    str | None, Query(pattern=_WINDOW, max_length=WINDOW_MAX, description="15m, 1h, 1d, ...")
]

_Window = Annotated[str, Field(pattern=_WINDOW, max_length=WINDOW_MAX, examples=["1h"])]
_Consecutive = Annotated[int, Strict(), within(1, 2**31), AS_WHOLE]
_Version = Annotated[int, Strict(), within(1, MAX_VERSION), AS_WHOLE]
_Millis = Annotated[int, Strict(), within(0, 2**63), AS_WHOLE]
_Finite = Annotated[float, Strict(), Field(allow_inf_nan=False)]


class _Body(BaseModel):
    # a misspelt field is an error that names it, never silently ignored
    model_config = ConfigDict(extra="forbid")


class _Condition(_Body):
    metric: Annotated[str, Field(pattern=_METRIC, max_length=256)]
    op: Literal[OPS] = ">"  # type: ignore[valid-type]
    threshold: _Finite
    window: _Window = "1h"
    consecutive: _Consecutive = 1
    version: _Version | None = None
    webhook: Annotated[str | None, Field(pattern=r"^https?://[^\s/]+", max_length=4096)] = None


class RuleBody(_Condition):
    """An alert rule; its name is the path's."""

    model: Annotated[str, Field(pattern=MODEL_NAME_PATTERN)]


class ConfigRule(_Condition):
    """A rule of a model's config, for the path's model."""

    name: Annotated[str, Field(pattern=RULE_NAME_PATTERN)]


class ConfigBody(_Body):
    """A model's monitor settings and rules, as in a `knot monitor rules apply` file;
    the model is the path's."""

    reference: Annotated[str | None, Field(pattern=r"^dataset:", max_length=512)] = None
    segment: Annotated[str | None, Field(max_length=256)] = None
    window: _Window | None = None
    rules: list[ConfigRule] = []


class Point(_Body):
    """One monitor result: a metric's value over one window of one model version."""

    model: Annotated[str, Field(pattern=MODEL_NAME_PATTERN)]
    version: _Version
    window: _Window
    window_start: _Millis
    window_end: _Millis
    metric: Annotated[str, Field(min_length=1, max_length=256)]
    segment: Annotated[str, Field(max_length=512)] = ""
    value: _Finite | None
    detail: dict[str, Any] | None = None


class Points(_Body):
    points: Annotated[list[Point], Field(max_length=10_000)]


class WebhookStatus(_Body):
    status: Annotated[str, Field(min_length=1, max_length=2000)]
