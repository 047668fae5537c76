"""The canary against a real prediction service (in-process, its lifespan running): the
loop sets the traffic record, the service follows it, live answers and their labels go
through /predict and /feedback, and the loop reads them back from the service's own
prediction and label logs to roll the canary back, after which the service follows the
cleared record back to the champion alone."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pytest

import knot
from knot.loop.controller import Controller
from knot.loop.state import State, list_retrains
from knot.serving.logs.predictions import read_prediction_log
from tests.gates.churn_models import holdout, register
from tests.loop.loop_setup import CANARY, loop_config, retrain_once
from tests.serving.conftest import serving

__all__ = ["holdout"]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _until(check: Any, what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _roles(client: httpx.AsyncClient) -> set[str]:
    return set((await client.get("/ready")).json().get("models", {}))


async def test_a_canary_failing_live_is_rolled_back_on_a_real_service(holdout: str) -> None:
    register("good", alias="champion")
    config = loop_config(holdout, canary=CANARY)
    async with serving(model="models:/churn@champion", poll_seconds=0.05) as (client, _):
        controller: Controller = await asyncio.to_thread(retrain_once, config)

        async def has_challenger() -> bool:
            return "challenger" in await _roles(client)

        await _until(has_challenger, "the service to follow the traffic record")
        rng = np.random.default_rng(0)
        answers = []
        for i in range(120):
            row = {"x1": float(rng.normal()), "x2": float(rng.normal()), "group_code": 0}
            response = await client.post(
                "/predict", json={"inputs": [row]}, headers={"x-request-id": f"r{i}"}
            )
            answers.append(response.json())
        by_version = {a["model_version"] for a in answers}
        assert by_version == {1, 2}  # the split reached both models
        # the world moved: the challenger's answers all turn out wrong, the champion's right
        labels = [
            {
                "request_id": a["request_id"],
                "label": 1 - a["predictions"][0]
                if a["model_version"] == 2
                else a["predictions"][0],
            }
            for a in answers
        ]
        accepted = await client.post("/feedback", json={"labels": labels})
        assert accepted.json()["accepted"] == len(labels)

        async def logged() -> bool:  # the service writes its log off the hot path
            frame = await asyncio.to_thread(read_prediction_log, "churn")
            return frame is not None and len(frame) == len(answers)

        await _until(logged, "the service to write its prediction log")

        async def judged() -> bool:
            return (await asyncio.to_thread(controller.step)).state is State.IDLE

        await _until(judged, "the canary to be judged")
        (retrain,) = list_retrains(controller.db, "churn")
        assert retrain.status == "rolled_back"
        assert retrain.reason is not None
        assert retrain.reason.startswith("live error_rate 1.000 > max_error_rate 0.2")
        assert "; champion 0.000 over " in retrain.reason
        assert knot.get_traffic("churn") is None

        async def champion_only() -> bool:
            return await _roles(client) == {"champion"}

        await _until(champion_only, "the service to drop the challenger")
