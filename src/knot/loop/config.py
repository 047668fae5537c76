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
      metric: roc_auc               # any metric of the model's task (default error_rate)
      min_margin: 0.0               # live value vs the champion's, same window: must be
                                    #   better by this much (0: no worse); omit: no comparison
      limit: 0.7                    # the worst live value allowed: rolls back at once
      min_labeled: 50               # labeled requests needed per arm to decide
    approval:
      required: true                # the model's promotion policy must name an approver

`max_error_rate: 0.25` is short for `metric: error_rate, limit: 0.25`. The metric names
of `evaluation` and `canary` must measure the model's task (mae, mse, rmse, r2 for a
regressor; accuracy, error_rate, precision, recall, f1, roc_auc, log_loss for a
classifier; see knot.metrics): the controller refuses them at start
against the current champion, and again against each challenger.

Without `canary` (or with weight 0) an accepted challenger is promoted at once.

A recommender is evaluated by a ranking metric instead (knot.gates.ranking_evaluate),
with `ranking:` in place of `evaluation:`:

    ranking:
      dataset: movielens-holdout    # held-out interactions: user, item, relevance
      user: user_id
      item: movie_id
      relevance: rating
      min_relevance: 4              # relevant: rated 4 or more
      k: 10
      metric: ndcg                  # precision, recall, ndcg or map, @k
      min_margin: 0.0
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from knot.errors import Invalid
from knot.gates.config_file import load_config
from knot.gates.evaluate import ComparisonPolicy, check_policy_task
from knot.gates.ranking_evaluate import RankingPolicy
from knot.metrics import check_metric_task, metric_info
from knot.registry.task import Task

__all__ = [
    "ApprovalConfig",
    "CanaryConfig",
    "EvaluationConfig",
    "LoopConfig",
    "TriggerConfig",
    "check_task",
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
    """How the challenger is judged on live traffic (see knot.loop.canary)."""

    weight: float = Field(gt=0, le=1)
    watch_seconds: float = Field(default=300, ge=0)
    metric: str = "error_rate"
    # the worst live value the challenger may show (at most this for a lower-is-better
    # metric, at least this for a higher-is-better one); breaching it rolls back at once
    limit: float | None = None
    max_error_rate: float | None = Field(default=None, ge=0, le=1)  # error_rate's limit
    # the challenger's live value must beat the champion's (same span, its own requests)
    # by at least this, in the metric's better direction; None: no comparison
    min_margin: float | None = None
    # labeled requests each compared arm needs before anything is decided
    min_labeled: int = Field(
        default=50, ge=1, validation_alias=AliasChoices("min_labeled", "min_requests")
    )
    # with too few labeled requests after watch_seconds, keep watching up to this long,
    # then roll back: a canary nobody could judge is not promoted
    max_watch_seconds: float | None = Field(default=None, ge=0)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        try:
            metric_info(value)
        except Invalid as exc:
            raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CanaryConfig:
        if self.max_watch_seconds is not None and self.max_watch_seconds < self.watch_seconds:
            raise ValueError("max_watch_seconds must be at least watch_seconds")
        if self.max_error_rate is not None and self.limit is not None:
            raise ValueError("set limit or max_error_rate, not both (max_error_rate is the limit)")
        if self.max_error_rate is not None and self.metric != "error_rate":
            raise ValueError(
                f"max_error_rate is the limit of error_rate, but metric is {self.metric!r}; "
                f"write limit: for {self.metric}"
            )
        if self.bound is None and self.min_margin is None:
            raise ValueError(
                f"nothing to judge the canary by: set limit (the worst live {self.metric} "
                "allowed) and/or min_margin (how much better than the champion's live "
                f"{self.metric} it must be; 0: no worse)"
            )
        if self.min_margin is not None and self.weight >= 1:
            raise ValueError(
                "weight 1 sends every request to the challenger, so the champion has no live "
                "labels to compare with; lower weight or leave min_margin out"
            )
        return self

    @property
    def bound(self) -> float | None:
        """The limit, whichever key set it."""
        return self.limit if self.limit is not None else self.max_error_rate

    @property
    def bound_key(self) -> str:
        return "max_error_rate" if self.max_error_rate is not None else "limit"

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
    ranking: RankingPolicy | None = None
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

    @model_validator(mode="after")
    def _one_evaluation(self) -> LoopConfig:
        if self.evaluation is not None and self.ranking is not None:
            raise ValueError(
                "set evaluation (a classifier's or regressor's metric) or ranking (a "
                "recommender's), not both"
            )
        return self


def load_loop_config(path: str | Path) -> LoopConfig:
    return load_config(LoopConfig, path)


def check_task(config: LoopConfig, task: Task | None, model: str) -> None:
    """Invalid when a metric of the evaluation or the canary does not measure `task`,
    the task of `model` (a "NAME/VERSION"), naming the key (evaluation.guards, ...)."""
    if config.evaluation is not None:
        check_policy_task(config.evaluation.policy(), task, model, "evaluation")
    if config.canary is not None:
        check_metric_task(config.canary.metric, task, where="canary.metric", model=model)


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
