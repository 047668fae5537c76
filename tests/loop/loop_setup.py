"""The loop tests' `churn` loop: a config naming a function of
tests.loop.loop_pipelines, and a controller that was asked to retrain."""

from __future__ import annotations

from typing import Any

from knot.loop.config import LoopConfig
from knot.loop.controller import Controller
from knot.loop.triggers import request_manual

#: a canary at half the traffic that is judged as soon as 20 labels are in
CANARY = {
    "weight": 0.5,
    "watch_seconds": 0,
    "max_watch_seconds": 3600,
    "max_error_rate": 0.2,
    "min_requests": 20,
}


def loop_config(holdout: str, pipeline: str = "train_good", **extra: Any) -> LoopConfig:
    """The loop of `churn`: a function of tests.loop.loop_pipelines, evaluated on
    accuracy against the champion on `holdout`."""
    data: dict[str, Any] = {
        "model": "churn",
        "pipeline": f"tests.loop.loop_pipelines:{pipeline}",
        "evaluation": {"dataset": holdout, "label": "y", "metric": "accuracy"},
        **extra,
    }
    return LoopConfig.model_validate(data)


def retrain_once(config: LoopConfig, owner: str = "tester-controller") -> Controller:
    """A controller that was asked to retrain and took one step (up to a wait, or idle)."""
    controller = Controller(config, owner=owner)
    request_manual(controller.db, "churn")
    controller.step()
    return controller
