"""A running service follows its model's traffic record without a restart (weight,
shadow, the challenger alias), the record wins over the CLI flags once it exists, and
every slot switch is in the audit log."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import knot
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.serving.logs.predictions import read_prediction_log
from tests.backends import StoreBackend
from tests.serving.conftest import row, serving

pytestmark = pytest.mark.anyio


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(6000):  # up to 2 minutes on a loaded machine
        if check():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the service never got to: {what}")


async def _versions(client: Any, n: int) -> list[int]:
    answers = [await client.post("/predict", json={"inputs": [row()]}) for _ in range(n)]
    assert {a.status_code for a in answers} == {200}
    return [a.json()["model_version"] for a in answers]


def _swaps() -> list[tuple[Any, Any]]:
    records = governance().audit_log(AuditQuery(entity_id="churn", action="serving.swap"))
    return [(r.before, r.after) for r in records]


def _slot(role: str, version: int) -> dict[str, Any]:
    digest = knot.get_model_version("churn", version).artifact_digest
    return {"role": role, "version": version, "digest": digest}


async def test_the_service_follows_weight_shadow_and_clear(churn: Path) -> None:
    knot.set_alias("churn", "challenger", 2)
    async with serving() as (client, service):
        assert set(await _versions(client, 20)) == {1}  # no record, no flags: champion only
        knot.set_traffic("churn", weight=0.25)
        await _until(lambda: service.challenger.served is not None, "load the challenger")
        assert service.split.weight == 0.25
        random.seed(25)  # requests without a route key are split by the global random
        versions = await _versions(client, 800)
        assert 0.19 < versions.count(2) / len(versions) < 0.31  # 25% within ~4 sd
        knot.set_traffic("churn", shadow=True)
        await _until(lambda: service.split.shadow, "shadow mode")
        shadowed = [
            await client.post(
                "/predict", json={"inputs": [row()]}, headers={"x-request-id": f"s{i}"}
            )
            for i in range(5)
        ]
        knot.clear_traffic("churn")
        await _until(lambda: service.challenger.served is None, "drop the challenger")
        assert set(await _versions(client, 20)) == {1}
    assert {a.json()["model_version"] for a in shadowed} == {1}
    logged = read_prediction_log("churn")
    shadow = logged[logged.role == "shadow"]
    assert set(shadow.request_id) >= {f"s{i}" for i in range(5)}
    assert set(shadow.version) == {2}
    assert _swaps() == [(None, _slot("challenger", 2)), (_slot("challenger", 2), None)]


async def test_a_record_wins_over_the_flags_and_follows_its_alias(churn: Path) -> None:
    knot.set_alias("churn", "challenger", 2)
    knot.set_alias("churn", "canary", 3)
    knot.set_traffic("churn", weight=0.0)
    async with serving(challenger="models:/churn@challenger", weight=1.0) as (client, service):
        assert set(await _versions(client, 20)) == {1}  # the record's weight 0, not the flag's 1
        knot.set_traffic("churn", challenger="canary", weight=1.0)
        await _until(
            lambda: (
                service.challenger.served is not None and service.challenger.served.version == 3
            ),
            "serve the canary alias",
        )
        assert set(await _versions(client, 20)) == {3}
        knot.set_alias("churn", "canary", 2)
        await _until(lambda: service.challenger.served.version == 2, "follow the canary alias")
        assert set(await _versions(client, 20)) == {2}
    assert _swaps() == [
        (_slot("challenger", 2), _slot("challenger", 3)),
        (_slot("challenger", 3), _slot("challenger", 2)),
    ]


async def test_a_hot_swap_of_the_champion_is_audited(churn: Path) -> None:
    async with serving() as (client, service):
        knot.set_alias("churn", "champion", 2)
        await _until(lambda: service.champion.served.version == 2, "swap to version 2")
        assert set(await _versions(client, 5)) == {2}
    assert _swaps() == [(_slot("champion", 1), _slot("champion", 2))]


@pytest.mark.server
async def test_a_service_follows_a_record_kept_behind_a_knot_server(
    knot_home: Path, remote_backend: StoreBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.serving.conftest import EXAMPLE
    from tests.serving.models import Threshold

    remote_backend.use(monkeypatch)
    for tag in (0, 10):
        knot.log_model(Threshold(10.0, tag), registered_model_name="churn", input_example=EXAMPLE)
    knot.set_alias("churn", "champion", 1)
    knot.set_alias("churn", "challenger", 2)
    async with serving() as (client, service):
        knot.set_traffic("churn", weight=1.0)
        await _until(lambda: service.challenger.served is not None, "load the challenger")
        assert set(await _versions(client, 10)) == {2}
    knot.reset()
