"""Retraining functions the loop tests name in their loop.yaml ("module:function")."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

import knot
from knot.registry.entities import ModelVersion
from tests.gates.churn_models import FEATURES, fit, frame, register


def train_good() -> ModelVersion:
    return register("good")


def train_worse() -> ModelVersion:
    return register("worse")


def not_a_version() -> str:
    return "oops"


@knot.step
def training_rows(n: int) -> pd.DataFrame:
    return frame(n, seed=1)


@knot.step(cache=False)
def fit_and_register(rows: pd.DataFrame) -> ModelVersion:
    return knot.log_model(
        fit("good", rows), registered_model_name="churn", input_example=rows[FEATURES].head()
    )


@knot.pipeline
def retrain_pipeline(n: int = 600) -> ModelVersion:
    """A two-step @knot.pipeline: its PipelineResult's output is the new version."""
    return fit_and_register(training_rows(n))  # type: ignore[no-any-return]


@knot.step(cache=False)
def fit_when_allowed(rows: pd.DataFrame, gate: str, attempts: str) -> ModelVersion:
    """Note the attempt, wait for the file `gate`, then fit and register (a test kills the
    controller while this step waits)."""
    with Path(attempts).open("a", encoding="utf-8") as out:
        out.write("attempt\n")
    while not Path(gate).exists():
        time.sleep(0.05)
    return knot.log_model(
        fit("good", rows), registered_model_name="churn", input_example=rows[FEATURES].head()
    )


@knot.pipeline
def retrain_when_allowed(gate: str, attempts: str, n: int = 600) -> ModelVersion:
    """Its first step finishes (and is cached) before the second one blocks."""
    return fit_when_allowed(training_rows(n), gate, attempts)  # type: ignore[no-any-return]
