"""Champion and challenger: the weighted split, sticky keys, shadow mode, alias
following in-process, and the prediction log's contents."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

import knot
from knot.serving.app import ROUTE_KEY_HEADER
from knot.serving.logs.predictions import read_prediction_log
from knot.serving.service import route_share
from tests.serving.conftest import row, serving

pytestmark = pytest.mark.anyio
CHALLENGER = "models:/churn@challenger"


def test_route_share_is_sticky_per_key_and_spread_over_keys() -> None:
    assert route_share("customer-7") == route_share("customer-7")
    shares = [route_share(f"customer-{i}") for i in range(10_000)]
    assert all(0 <= s < 1 for s in shares)
    assert 0.23 < sum(s < 0.25 for s in shares) / len(shares) < 0.27


async def test_weighted_split_sends_the_challenger_its_share(churn: Path) -> None:
    knot.set_alias("churn", "challenger", 2)
    random.seed(25)  # requests without a route key are split by the global random
    async with serving(challenger=CHALLENGER, weight=0.25) as (client, _):
        answers = [await client.post("/predict", json={"inputs": [row()]}) for _ in range(800)]
    versions = [a.json()["model_version"] for a in answers]
    share = versions.count(2) / len(versions)
    assert set(versions) == {1, 2}
    assert 0.19 < share < 0.31  # 25% within about 4 standard deviations


async def test_a_route_key_keeps_its_model(churn: Path) -> None:
    knot.set_alias("churn", "challenger", 2)
    async with serving(challenger=CHALLENGER, weight=0.5) as (client, _):
        seen: dict[str, set[int]] = {}
        for i in range(40):
            key = f"customer-{i % 8}"
            answer = await client.post(
                "/predict", json={"inputs": [row()]}, headers={ROUTE_KEY_HEADER: key}
            )
            seen.setdefault(key, set()).add(answer.json()["model_version"])
    assert all(len(v) == 1 for v in seen.values())
    assert {v for vs in seen.values() for v in vs} == {1, 2}


async def test_shadow_answers_are_logged_never_returned(churn: Path, knot_home: Path) -> None:
    knot.set_alias("churn", "challenger", 2)
    async with serving(challenger=CHALLENGER, shadow=True) as (client, _):
        answers = [
            await client.post(
                "/predict", json={"inputs": [row(30.0)]}, headers={"x-request-id": f"r{i}"}
            )
            for i in range(10)
        ]
    assert {a.json()["model_version"] for a in answers} == {1}
    assert {a.json()["predictions"][0] for a in answers} == {1}
    logged = read_prediction_log("churn")
    shadow = logged[logged.role == "shadow"]
    assert sorted(shadow.request_id) == sorted(f"r{i}" for i in range(10))
    assert set(shadow.version) == {2}
    assert set(shadow.prediction) == {11}  # version 2's answer, kept for comparison
    assert len(logged[logged.role == "champion"]) == 10


async def test_the_service_follows_the_alias_and_a_new_challenger(churn: Path) -> None:
    async with serving(challenger=CHALLENGER, weight=1.0) as (client, service):
        first = await client.post("/predict", json={"inputs": [row()]})
        knot.set_alias("churn", "challenger", 3)
        for _ in range(6000):  # up to 2 minutes on a loaded machine
            if service.challenger.served is not None:
                break
            await asyncio.sleep(0.02)
        second = await client.post("/predict", json={"inputs": [row()]})
        knot.delete_alias("churn", "challenger")
        for _ in range(6000):  # up to 2 minutes on a loaded machine
            if service.challenger.served is None:
                break
            await asyncio.sleep(0.02)
        third = await client.post("/predict", json={"inputs": [row()]})
    assert first.json()["model_version"] == 1  # no challenger yet: all to the champion
    assert second.json()["model_version"] == 3
    assert third.json()["model_version"] == 1


async def test_prediction_log_holds_every_row_partitioned_by_day_and_version(
    churn: Path, knot_home: Path
) -> None:
    async with serving() as (client, _):
        answer = await client.post(
            "/predict",
            json={"inputs": [row(3.0), row(30.0, "pro", 4)]},
            headers={"x-request-id": "req-1"},
        )
    assert answer.status_code == 200
    root = knot_home / "predictions"
    files = list(root.glob("model=churn/version=1/date=*/part-*.parquet"))
    assert files
    logged = read_prediction_log("churn")
    assert list(logged.request_id) == ["req-1", "req-1"]
    assert list(logged.row) == [0, 1]
    assert list(logged.features) == [row(3.0), row(30.0, "pro", 4)]
    assert list(logged.prediction) == [0, 1]
    assert logged.score.isna().all()  # the model has no predict_proba
    assert set(logged.digest) == {knot.get_model_version("churn", 1).artifact_digest}
    assert str(logged.timestamp.dt.date.iloc[0]) == files[0].parent.name.removeprefix("date=")


async def test_log_sample_zero_logs_nothing(churn: Path) -> None:
    async with serving(log_sample=0.0) as (client, _):
        for _ in range(5):
            await client.post("/predict", json={"inputs": [row()]})
    assert read_prediction_log("churn").empty
