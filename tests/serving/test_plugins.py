"""Monitor plugins: observe() gets every logged batch on the log's thread, their gauges
show on /metrics, a failing plugin never fails a request, bad names are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from knot.cli import app
from knot.errors import Invalid
from knot.serving.config import ServeConfig
from knot.serving.logs.predictions import read_prediction_log
from knot.serving.plugins import load_plugins, resolve_factory
from tests.serving.conftest import row, serving

pytestmark = pytest.mark.anyio
EXAMPLE = "tests.serving.plugin_example"


async def test_a_plugin_observes_logged_batches_and_its_gauge_is_on_metrics(churn: Path) -> None:
    async with serving(plugins=(f"{EXAMPLE}:factory",)) as (client, service):
        plugin = service.plugins[0]
        await client.post(
            "/predict", json={"inputs": [row(3.0), row(30.0)]}, headers={"x-request-id": "two"}
        )
        await client.post("/predict", json={"inputs": [row(40.0)]}, headers={"x-request-id": "one"})
        for _ in range(300):
            if sum(len(b.predictions) for b in plugin.batches) == 3:
                break
            await asyncio.sleep(0.02)
        metrics = (await client.get("/metrics")).text
    batch = plugin.batches[0]
    assert batch.role == "champion"
    assert batch.served.version == 1
    assert batch.request_ids == ["two", "two", "one"]
    assert list(batch.columns) == ["tenure", "plan", "seats"]
    assert batch.columns["tenure"].tolist() == [3.0, 30.0, 40.0]
    assert np.array_equal(batch.predictions, [0, 1, 1])
    assert batch.scores is None
    assert "knot_test_plugin_rows 3.0" in metrics


async def test_a_failing_plugin_never_fails_a_request(churn: Path) -> None:
    async with serving(plugins=(f"{EXAMPLE}:broken",)) as (client, _):
        answers = [await client.post("/predict", json={"inputs": [row()]}) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert len(read_prediction_log("churn")) == 5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "is not of the form module:factory"),
        (":factory", "is not of the form module:factory"),
        ("no_such_module_here:factory", "cannot be imported"),
        (f"{EXAMPLE}:missing", "has no callable 'missing'"),
    ],
)
def test_bad_plugin_names_are_refused(spec: str, message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        resolve_factory(spec)
    assert caught.value.field == "plugin"


def test_a_factory_that_builds_no_plugin_is_refused() -> None:
    config = ServeConfig(model="models:/churn@champion", plugins=(f"{EXAMPLE}:no_observe",))
    with pytest.raises(Invalid, match="has no observe"):
        load_plugins(config, CollectorRegistry())


def test_serve_checks_its_plugins_before_starting(churn: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "models:/churn@champion", "--plugin", f"{EXAMPLE}:missing"]
    )
    assert isinstance(result.exception, Invalid)
    assert "has no callable 'missing'" in str(result.exception)
