"""Alert rules: which metric of which model, compared how with what threshold, over which
window, for how many consecutive windows; stored one row per rule, changes audited.

Metrics are the performance metrics (accuracy, error_rate, precision, recall, f1,
roc_auc, log_loss, mae, rmse, r2), counts (rows, served_rows, labeled), and drift:
"drift.share" (share of drifted features), "drift.dataset" (1 when the dataset drifted),
"drift.<feature>" (that feature's statistic; which test produced it is in the result's
detail), "drift.<feature>.drifted" (1 when that feature's test rejected, else 0), and
prediction drift, which the share
leaves out: "drift.prediction" (the statistic of the window's predictions against the
version's own predictions on its reference; categorical for classifiers) and
"drift.score" (the same for a binary classifier's positive-class probability). A model
served from a feature service also has training/serving skew: "skew.share" (share of its
features whose served values differ from the offline ones), "skew.rows" and
"skew.<feature>" (the share of rows whose served value differs).

A performance metric must measure the model's task (knot.registry.task): `accuracy` on
a regressor never has a value, so such a rule would never fire; it is refused when the
rule is stored, naming the rule and the metrics that apply. That check loads the model,
so it runs here, in the caller, before the session's monitoring store (SQL, or a Knot
server: knot.monitoring.stores) is asked to store the rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from knot.errors import Invalid
from knot.metrics import CLASSIFIER_METRICS, REGRESSOR_METRICS, check_metric_task
from knot.monitoring.stores import monitoring_store
from knot.monitoring.windows import parse_window
from knot.refs import check_model_name

__all__ = [
    "METRICS",
    "OPS",
    "RULE_NAME_PATTERN",
    "WINDOW_MAX",
    "AlertRule",
    "check_rule_name",
    "check_rules_task",
    "delete_alert_rule",
    "get_alert_rule",
    "list_alert_rules",
    "set_alert_rule",
]

OPS = (">", ">=", "<", "<=")
#: the longest window text stored (the tables' window_size columns)
WINDOW_MAX = 16
COUNTS = ("rows", "served_rows", "labeled")
DRIFT = ("drift.share", "drift.dataset", "drift.prediction", "drift.score")
SKEW = ("skew.share", "skew.rows")
METRICS = (*CLASSIFIER_METRICS, *REGRESSOR_METRICS, *COUNTS, *DRIFT, *SKEW)
_PER_FEATURE = ("drift.", "skew.")
RULE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$"
_NAME = re.compile(RULE_NAME_PATTERN)


class AlertRule(BaseModel):
    """Fire when `metric op threshold` holds for `consecutive` windows of length `window`
    in a row; resolve on the first window where it does not. `version` pins the rule to
    one model version; by default each window is judged on the version that answered
    most of its traffic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    model: str
    metric: str
    op: str = ">"
    threshold: float
    window: str = "1h"
    consecutive: int = 1
    version: int | None = None
    webhook: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "use 1-256 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        try:
            return check_model_name(value)
        except Invalid as exc:
            raise ValueError(exc.message) from None

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if len(value) <= 256 and (
            value in METRICS
            or any(value.startswith(p) and len(value) > len(p) for p in _PER_FEATURE)
        ):
            return value
        raise ValueError(
            f"use one of {', '.join(METRICS)}, drift.<feature> or skew.<feature> (256 at most)"
        )

    @field_validator("op")
    @classmethod
    def _op(cls, value: str) -> str:
        if value not in OPS:
            raise ValueError(f"use one of {' '.join(OPS)}")
        return value

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("use a finite number")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        try:
            parse_window(value)
        except Invalid as exc:
            raise ValueError(exc.message) from None
        if len(value) > WINDOW_MAX:
            raise ValueError(f"write the window in {WINDOW_MAX} characters at most, e.g. '1h'")
        return value

    @field_validator("consecutive")
    @classmethod
    def _consecutive(cls, value: int) -> int:
        if not 1 <= value < 2**31:
            raise ValueError("use a whole number of windows, 1 or more")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value < 2**31:
            raise ValueError("use a model version number, 1 or more, or leave it out")
        return value

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("use an http:// or https:// URL")
        return value

    @classmethod
    def parse(cls, data: Any, where: str = "alert rule") -> AlertRule:
        """A rule from a mapping (YAML, JSON); Invalid names the field and the fix."""
        if not isinstance(data, Mapping):
            raise Invalid(
                f"{where} must be a mapping with name, model, metric, op, threshold, window, "
                f"consecutive and optionally version and webhook; got {data!r}",
                field="rules",
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = ".".join(str(p) for p in error["loc"]) or "rule"
            name = data.get("name", "?")
            got = error.get("input")
            raise Invalid(
                f"{where} {name!r}: {loc} = {got!r} is not valid: {error['msg']}",
                field=loc,
            ) from None

    def breached(self, value: float) -> bool:
        """Whether `value` is on the alerting side of the threshold."""
        if self.op == ">":
            return value > self.threshold
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<":
            return value < self.threshold
        return value <= self.threshold


def check_rule_name(name: str) -> str:
    """`name` if it can name a rule; Invalid naming the value and the rule otherwise (a
    name sent to a route, where no rule with a bad name can exist)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid(
            f"alert rule name {name!r} is not valid: use 1-256 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit",
            field="name",
        )
    return name


def check_rules_task(rules: Sequence[AlertRule]) -> None:
    """Invalid when a rule's performance metric does not measure its model's task, judged
    on the rule's pinned version, else the champion, else the latest version (each loaded
    once); a model with no version yet is not checked."""
    from knot.registry.task import model_task

    tasks: dict[tuple[str, int | None], Any] = {}
    for rule in rules:
        key = (rule.model, rule.version)
        if key not in tasks:
            tasks[key] = model_task(rule.model, rule.version)
        found = tasks[key]
        if found is not None:
            also = ", ".join(COUNTS) + ", drift.*"
            where = f"alert rule {rule.name!r}"
            check_metric_task(rule.metric, found[1], where=where, model=found[0], also=also)


def set_alert_rule(rule: AlertRule) -> AlertRule:
    """Create or replace the rule named `rule.name` (audited). Changing what a rule
    measures starts its state over; changing only its webhook keeps it."""
    check_rules_task([rule])
    monitoring_store().set_rule(rule)
    return rule


def get_alert_rule(name: str) -> AlertRule:
    """The rule named `name`; NotFound says how to list the ones that exist."""
    return monitoring_store().get_rule(name)


def list_alert_rules(model: str | None = None) -> list[AlertRule]:
    """Rules of `model` (or all), by name."""
    return monitoring_store().list_rules(model)


def delete_alert_rule(name: str) -> None:
    """Remove a rule and its state (its events stay in the history); audited."""
    monitoring_store().delete_rule(name)
