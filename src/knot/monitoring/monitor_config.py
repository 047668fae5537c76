"""A model's monitoring set-up, from a YAML file or the SDK: the reference data drift
compares against, the segment column, the default window, and the alert rules.

    model: churn
    reference: dataset:churn@1     # default: the dataset the served version trained on
    segment: plan                  # optional: results also per value of this feature
    window: 1h                     # optional: the window when no rule names one
    rules:
      - {name: churn-drift, metric: drift.share, op: ">=", threshold: 0.3, consecutive: 2}
      - {name: churn-accuracy, metric: accuracy, op: "<", threshold: 0.7, window: 1h}

`apply_config` stores it all in one transaction (audited), so a bad rule changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from knot.errors import Invalid
from knot.monitoring.alerts.rules import AlertRule, check_rules_task
from knot.monitoring.stores import monitoring_store
from knot.monitoring.windows import parse_window
from knot.refs import check_model_name

__all__ = [
    "MonitorConfig",
    "MonitorSettings",
    "apply_config",
    "get_monitor_settings",
    "load_config",
    "parse_config",
]

_KEYS = ("model", "reference", "segment", "window", "rules")
#: the longest text each setting may be (its column in monitor_settings)
_LONGEST = {"reference": 512, "segment": 256, "window": 16}


class MonitorSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    reference: str | None = None
    segment: str | None = None
    window: str | None = None


class MonitorConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    settings: MonitorSettings
    rules: list[AlertRule]


def load_config(path: Path) -> MonitorConfig:
    """Read and check a monitoring YAML file; Invalid names the file, the field and the fix."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise Invalid(f"{path} does not exist; pass the path of a rules YAML file") from None
    except yaml.YAMLError as exc:
        raise Invalid(f"{path} is not valid YAML ({exc}); fix the file") from None
    return parse_config(data, str(path))


def parse_config(data: Any, where: str = "monitoring config") -> MonitorConfig:
    if not isinstance(data, dict):
        raise Invalid(
            f"{where} must be a mapping with model, rules and optionally reference, segment "
            f"and window; got {type(data).__name__}",
            field="model",
        )
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise Invalid(
            f"{where}: {unknown[0]!r} is not a setting; use {', '.join(_KEYS)}", field=unknown[0]
        )
    model = data.get("model")
    try:
        check_model_name(model)
    except Invalid as exc:
        raise Invalid(f"{where}: {exc.message}", field="model") from None
    for key, longest in _LONGEST.items():
        if data.get(key) is not None and not isinstance(data[key], str):
            raise Invalid(f"{where}: {key} must be text, got {data[key]!r}", field=key)
        if data.get(key) is not None and len(data[key]) > longest:
            shown = repr(data[key][:40])
            raise Invalid(
                f"{where}: {key} {shown}... is longer than {longest} characters; shorten it",
                field=key,
            )
    if data.get("window") is not None:
        parse_window(data["window"])
    reference = data.get("reference")
    if reference is not None and not reference.startswith("dataset:"):
        raise Invalid(
            f"{where}: reference {reference!r} is not a dataset URI; write dataset:NAME@VERSION",
            field="reference",
        )
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise Invalid(f"{where}: rules must be a list of rules", field="rules")
    rules = [
        AlertRule.parse({"model": model, **r} if isinstance(r, dict) else r, f"{where}: rule {i}")
        for i, r in enumerate(raw_rules)
    ]
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise Invalid(f"{where}: rule {twice[0]!r} is defined twice; rename one", field="rules")
    other = [r.name for r in rules if r.model != model]
    if other:
        raise Invalid(
            f"{where}: rule {other[0]!r} is for another model than {model!r}; put it in that "
            "model's file",
            field="rules",
        )
    settings = MonitorSettings(
        model=model, reference=reference, segment=data.get("segment"), window=data.get("window")
    )
    return MonitorConfig(settings=settings, rules=rules)


def apply_config(config: MonitorConfig) -> MonitorConfig:
    """Store the settings and every rule, in one transaction (audited); a rule whose
    metric does not measure the model's task stores nothing. The task is checked here,
    in the caller, because it loads the model."""
    check_rules_task(config.rules)
    return monitoring_store().apply_config(config)


def get_monitor_settings(model: str) -> MonitorSettings:
    """The stored settings of `model` (all defaults when none were applied)."""
    return monitoring_store().get_settings(model)
