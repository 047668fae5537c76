"""The retraining policy of one model, from the YAML file the user writes (loop.yaml):

    model: churn
    pipeline: examples.churn.retrain:retrain   # "module:function" returning the new
    params: {rows: 5000}                       #   ModelVersion (or a PipelineResult of one)
    triggers:
      dataset: churn                # a new accepted version of this dataset
      alerts: [churn-drift]         # these alert rules firing ([] or "any": every rule)
      schedule: "0 3 * * *"         # cron; the next fire is computed from the last one
    evaluation:                     # challenger vs champion on the same held-out rows
      dataset: churn_holdout
      label: churned
      metric: roc_auc
      min_margin: 0.0
      guards: {recall: 0.02}
      segment: contract
    canary:
      weight: 0.2                   # share of live requests to the challenger
      watch_seconds: 600            # watch at least this long before promoting
      max_error_rate: 0.25          # labeled live error rate that rolls it back
      min_requests: 50              # labeled challenger requests needed to decide
    approval:
      required: true                # the model's promotion policy must name an approver

Without `canary` (or with weight 0) an accepted challenger is promoted at once.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knot.automation.config_file import load_config
from knot.automation.evaluate import ComparisonPolicy
from knot.errors import Invalid

__all__ = [
    "ApprovalConfig",
    "CanaryConfig",
    "EvaluationConfig",
    "LoopConfig",
    "TriggerConfig",
    "load_loop_config",
    "resolve_pipeline",
]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TriggerConfig(_Section):
    dataset: str | None = None
    alerts: list[str] | Literal["any"] | None = None
    schedule: str | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            raise ValueError(
                f"{value!r} is not a cron schedule; write five fields, e.g. '0 3 * * *' "
                "(03:00 every day)"
            )
        return value

    @field_validator("alerts", mode="before")
    @classmethod
    def _all_rules(cls, value: Any) -> Any:
        return "any" if value == [] else value


class EvaluationConfig(ComparisonPolicy):
    dataset: str
    label: str
    champion: str = "champion"

    def policy(self) -> ComparisonPolicy:
        return ComparisonPolicy.model_validate(
            self.model_dump(include=set(ComparisonPolicy.model_fields))
        )


class CanaryConfig(_Section):
    weight: float = Field(gt=0, le=1)
    watch_seconds: float = Field(default=300, ge=0)
    max_error_rate: float = Field(ge=0, le=1)
    min_requests: int = Field(default=50, ge=1)
    # with too few labeled requests after watch_seconds, keep watching up to this long,
    # then roll back: a canary nobody could judge is not promoted
    max_watch_seconds: float | None = Field(default=None, ge=0)
    window: str = "1h"  # the performance window the labeled rows are read in

    @model_validator(mode="after")
    def _long_enough(self) -> CanaryConfig:
        if self.max_watch_seconds is not None and self.max_watch_seconds < self.watch_seconds:
            raise ValueError("max_watch_seconds must be at least watch_seconds")
        return self

    @property
    def give_up_seconds(self) -> float:
        return (
            self.max_watch_seconds if self.max_watch_seconds is not None else 3 * self.watch_seconds
        )


class ApprovalConfig(_Section):
    required: bool = False


class LoopConfig(_Section):
    model: str = Field(min_length=1)
    pipeline: str
    params: dict[str, Any] = Field(default_factory=dict)
    triggers: TriggerConfig = Field(default_factory=TriggerConfig)
    evaluation: EvaluationConfig | None = None
    canary: CanaryConfig | None = None
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    poll_seconds: float = Field(default=5.0, gt=0)  # how often a canary or approval is checked

    @field_validator("pipeline")
    @classmethod
    def _target(cls, value: str) -> str:
        module, colon, name = value.rpartition(":")
        if not colon or not module or not name:
            raise ValueError(
                f"{value!r} is not 'module:function' or 'path/to/file.py:function'; e.g. "
                "examples.churn.retrain:retrain"
            )
        return value


def load_loop_config(path: str | Path) -> LoopConfig:
    return load_config(LoopConfig, path)


def resolve_pipeline(target: str) -> Callable[..., Any]:
    """Import the function "module:function" or "path/to/file.py:function" names (a
    @knot.pipeline or a plain function); the current folder is importable."""
    module_name, _, name = target.rpartition(":")
    try:
        module = _module(module_name)
    except ImportError as exc:
        raise Invalid(
            f"pipeline {target!r}: cannot import {module_name!r} ({exc}); check the name and "
            "that it is importable from the current folder or PYTHONPATH",
            field="pipeline",
        ) from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise Invalid(
            f"pipeline {target!r}: {module_name!r} has no function {name!r}",
            field="pipeline",
        )
    return fn


def _module(module_name: str) -> Any:
    if not module_name.endswith(".py"):
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(module_name)
    path = Path(module_name).resolve()
    if not path.is_file():
        raise ImportError(f"{path} does not exist")
    if str(path.parent) not in sys.path:  # its own imports (and its steps) resolve by name
        sys.path.insert(0, str(path.parent))
    return importlib.import_module(path.stem)
