"""One load path: `knot.load_model` and the prediction service load a registered model
through knot.registry.loading (with the served-model cache), so both refuse a changed
artifact with the same error, also when the version has a fast-load form; `knot serve`
parses its reference once and resolves the champion once, at start."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import knot
from knot.artifacts._digest import blob_key
from knot.errors import Corrupted
from knot.registry import loading
from knot.registry.entities import ModelVersion
from knot.registry.sql_store import SqlRegistryStore
from knot.serving.app import create_app
from knot.serving.config import ServeConfig
from knot.serving.sources import Plan, load_source
from knot.tracking.fluent import session
from tests.cli.knot_process import assert_error, run
from tests.servers import free_port
from tests.serving.conftest import row, serving
from tests.serving.live import KNOT, REPO, knot_env

FRAME = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})


@pytest.fixture
def lr(knot_home: Path) -> ModelVersion:
    """A skops model registered with its fast-load form (a second way to load it)."""
    fitted = LogisticRegression().fit(FRAME, [0, 0, 0, 1, 1, 1])
    version = knot.log_model(fitted, registered_model_name="lr", input_example=FRAME)
    assert version.fast_load_digest is not None
    return version


def _tamper(version: ModelVersion) -> None:
    """Change the model file of the version's folder in the artifact store."""
    store = session().artifacts
    (entry,) = [
        e
        for e in store.read_manifest(version.artifact_digest).entries
        if e.path.startswith("model.")
    ]
    blob = Path(store.uri.removeprefix("file://")) / blob_key(entry.digest)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-3] + b"bad")


class Spy:
    """Records every call of knot.registry.loading.load_stored_model, then makes it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self._real = loading.load_stored_model
        monkeypatch.setattr(loading, "load_stored_model", self)

    def __call__(
        self, artifacts: Any, digest: str, source: str, fast: str | None = None, **kw: bool
    ) -> Any:
        self.calls.append((digest, source, fast))
        return self._real(artifacts, digest, source, fast, **kw)


@pytest.mark.anyio
async def test_load_model_and_the_service_load_through_one_function(
    churn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    version = knot.get_model_version("models:/churn@champion")
    call = (version.artifact_digest, "models:/churn/1", version.fast_load_digest)
    knot.load_model("models:/churn@champion")
    assert spy.calls == [call]
    load_source("models:/churn@champion")
    assert spy.calls == [call, call]
    async with serving() as (client, service):
        assert (await client.post("/predict", json={"inputs": [row(30.0)]})).status_code == 200
    assert service.champion.served.label == "churn/1" and spy.calls == [call, call, call]


@pytest.mark.anyio
@pytest.mark.parametrize("model", ["churn", "lr"])
async def test_both_refuse_a_changed_artifact_with_the_same_error(
    model: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(model)  # churn: a plain pickle; lr: skops with a fast-load form
    version = knot.get_model_version(f"models:/{model}/1")
    _tamper(version)  # for lr, the fast-load form is intact: it is still refused
    with pytest.raises(Corrupted) as direct:
        knot.load_model(f"models:/{model}/1")
    with pytest.raises(Corrupted) as served:
        load_source(f"models:/{model}/1")
    assert str(served.value) == str(direct.value) and "is corrupted" in str(direct.value)
    async with serving(model=f"models:/{model}/1") as (client, service):
        ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["reason"] == f"Corrupted: {direct.value}"
    assert service.champion.served is None


@pytest.mark.anyio
async def test_the_champion_is_resolved_once_at_start(
    churn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved: list[str] = []
    real = SqlRegistryStore.resolve

    def counting(self: SqlRegistryStore, ref: Any) -> ModelVersion:
        resolved.append(str(ref))
        return real(self, ref)

    monkeypatch.setattr(SqlRegistryStore, "resolve", counting)
    config = ServeConfig(model="models:/churn@champion", poll_seconds=0.05)
    plan = Plan.parse(config.model, config.challenger, resolve=True)
    assert resolved == ["models:/churn@champion"] and plan.version is not None
    app = create_app(config, plan)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            answer = await client.post("/predict", json={"inputs": [row(30.0)]})
    assert answer.json()["model_version"] == 1
    assert resolved == ["models:/churn@champion"]  # the load used the version resolved


def test_knot_serve_refuses_what_names_nothing_before_it_starts(churn: Path) -> None:
    done = run(churn, "serve", "models:/churn@nope", "--port", str(free_port()))
    assert_error(done, "no alias 'nope'", "champion -> 1")
    done = run(churn, "serve", "models:/bad name/3", "--port", str(free_port()))
    assert_error(done, "'models:/bad name/3'", "models:/NAME@ALIAS")


@pytest.mark.server
def test_knot_serve_of_a_changed_artifact_says_why_on_ready(lr: ModelVersion) -> None:
    _tamper(lr)
    with pytest.raises(Corrupted) as direct:
        knot.load_model("models:/lr/1")
    port = free_port()
    process = subprocess.Popen(
        [KNOT, "serve", "models:/lr/1", "--port", str(port)],
        env=knot_env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        reason = None
        while reason in (None, "loading") and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=30)
                reason = answer.json().get("reason")
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait()
    assert reason == f"Corrupted: {direct.value}"
