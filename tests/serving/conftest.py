"""Serving fixtures: a KNOT_HOME with model `churn` registered in versions that answer
differently (v1 tags predictions +0, v2 +10, v3 +20), champion on v1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from knot.serving.app import create_app
from knot.serving.config import ServeConfig
from tests.serving.models import Threshold

EXAMPLE = pd.DataFrame(
    {"tenure": [1.0, 20.0], "plan": ["basic", "pro"], "seats": [1, 5]},
)


def row(tenure: float = 12.0, plan: str = "basic", seats: int = 2) -> dict[str, Any]:
    return {"tenure": tenure, "plan": plan, "seats": seats}


@pytest.fixture
def churn(knot_home: Path) -> Path:
    import knot

    for tag in (0, 10, 20):
        knot.log_model(Threshold(10.0, tag), registered_model_name="churn", input_example=EXAMPLE)
    knot.set_alias("churn", "champion", 1)
    return knot_home


@asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An in-process service (lifespan run) and a client to it, once it is ready."""
    import asyncio

    options.setdefault("model", "models:/churn@champion")
    options.setdefault("poll_seconds", 0.05)
    app = create_app(ServeConfig(**options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            service = app.state.service
            for _ in range(4800):  # up to 2 minutes on a loaded machine
                if service.failure or (await client.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.025)
            yield client, service


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
