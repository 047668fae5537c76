"""Traffic records on SQLite, PostgreSQL and behind a live server: set, read, clear, each
audited in the same transaction; bad values refused with nothing changed; the swap
marker's compare-and-set that turns one switch made by several workers into one audit
row; the CLI."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.errors import Invalid, NotFound
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.registry.model_folder import LoadedModel
from knot.serving import tables
from knot.serving.sources import ServedModel
from knot.serving.switches import mark_served, record_switch
from knot.serving.traffic import sql_database
from tests.backends import StoreBackend
from tests.migrations import assert_migration_builds
from tests.serving.conftest import EXAMPLE
from tests.serving.models import Threshold

runner = CliRunner()


def _register(backend: StoreBackend, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point KNOT_STORE at `backend` and register a model there; returns its (unique) name."""
    backend.use(monkeypatch)
    name = f"churn-{uuid.uuid4().hex[:8]}"
    knot.log_model(Threshold(10.0), registered_model_name=name, input_example=EXAMPLE)
    return name


@pytest.fixture
def model(store_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A registered model on SQLite, PostgreSQL or behind the live Knot server."""
    return _register(store_backend, monkeypatch)


@pytest.fixture
def sql_model(sql_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same on SQLite and PostgreSQL only: the test writes the tables directly."""
    return _register(sql_backend, monkeypatch)


def _audit(name: str, action: str | None = None) -> list[tuple[str, object, object]]:
    records = governance().audit_log(AuditQuery(entity_kind="model", entity_id=name))
    return [(r.action, r.before, r.after) for r in records if action in (None, r.action)]


def test_set_get_and_clear_are_audited(model: str) -> None:
    assert knot.get_traffic(model) is None
    first = knot.set_traffic(model, weight=0.05)
    assert (first.model, first.challenger, first.weight, first.shadow) == (
        model,
        "challenger",
        0.05,
        False,
    )
    assert first.updated_by == "tester"
    assert knot.get_traffic(model) == first
    second = knot.set_traffic(model, challenger="canary", weight=0.25, shadow=True)
    assert knot.get_traffic(model) == second
    knot.clear_traffic(model)
    assert knot.get_traffic(model) is None
    knot.clear_traffic(model)  # nothing to clear: no second audit row
    state = {"challenger": "challenger", "weight": 0.05, "shadow": False}
    assert _audit(model) == [
        ("traffic.set", None, state),
        ("traffic.set", state, {"challenger": "canary", "weight": 0.25, "shadow": True}),
        ("traffic.clear", {"challenger": "canary", "weight": 0.25, "shadow": True}, None),
    ]
    assert governance().verify_audit() == []


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"weight": 1.5}, "weight", "weight 1.5 is not a share"),
        ({"weight": -0.1}, "weight", "from 0"),
        ({"weight": math.nan}, "weight", "weight nan"),
        ({"weight": True}, "weight", "weight True"),
        ({"weight": "0.5"}, "weight", "weight '0.5'"),
        ({"challenger": "not an alias"}, "alias", "alias 'not an alias' is not allowed"),
        ({"challenger": "latest"}, "alias", "is kept by Knot for the newest version"),
        ({"shadow": "yes"}, "shadow", "shadow 'yes'"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(
    model: str, options: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        knot.set_traffic(model, **options)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert knot.get_traffic(model) is None
    assert _audit(model) == []


def test_an_unknown_model_is_named_with_the_fix(model: str) -> None:
    for call in (
        lambda: knot.set_traffic("nope", weight=0.1),
        lambda: knot.get_traffic("nope"),
        lambda: knot.clear_traffic("nope"),
    ):
        with pytest.raises(NotFound, match=r"model 'nope' not found; registered models: .*churn-"):
            call()


def _served(name: str, version: int) -> ServedModel:
    return ServedModel(name, version, f"sha256:{version:064d}", LoadedModel(None, None, "x"))  # type: ignore[arg-type]


def test_one_switch_made_by_every_worker_is_one_audit_row(sql_model: str) -> None:
    db = sql_database()
    assert db is not None
    v1, v2 = _served(sql_model, 1), _served(sql_model, 2)
    for _worker in range(3):  # three workers of one service start on version 1
        mark_served(db, "svc-a", "champion", v1)
    won = [record_switch(db, "svc-a", "champion", v1, v2) for _worker in range(3)]
    assert won == [True, False, False]
    assert [record_switch(db, "svc-a", "challenger", None, v1) for _ in range(2)] == [True, False]
    assert [record_switch(db, "svc-a", "challenger", v1, None) for _ in range(2)] == [True, False]
    mark_served(db, "svc-b", "champion", v1)  # another service switches on its own
    assert record_switch(db, "svc-b", "champion", v1, v2)
    champion1 = {"role": "champion", "version": 1, "digest": v1.digest}
    champion2 = {"role": "champion", "version": 2, "digest": v2.digest}
    challenger1 = {"role": "challenger", "version": 1, "digest": v1.digest}
    assert _audit(sql_model, "serving.swap") == [
        ("serving.swap", champion1, champion2),
        ("serving.swap", None, challenger1),
        ("serving.swap", challenger1, None),
        ("serving.swap", champion1, champion2),
    ]


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    assert_migration_builds(tables, tmp_path)


def test_the_cli_sets_shows_and_clears(model: str) -> None:
    result = runner.invoke(app, ["traffic", "show", model])
    assert result.exit_code == 0, result.output
    assert "no traffic record" in result.output
    result = runner.invoke(app, ["traffic", "set", model, "--weight", "0.25"])
    assert result.exit_code == 0, result.output
    assert "challenger @challenger gets 0.25 of requests" in result.output
    result = runner.invoke(app, ["traffic", "set", model, "--challenger", "canary", "--shadow"])
    assert "challenger @canary gets shadow" in result.output
    result = runner.invoke(app, ["traffic", "show", model, "--json"])
    assert '"challenger": "canary"' in result.output
    assert '"shadow": true' in result.output
    result = runner.invoke(app, ["traffic", "clear", model])
    assert result.exit_code == 0, result.output
    assert "all traffic to the champion" in result.output
    assert knot.get_traffic(model) is None
    result = runner.invoke(app, ["traffic", "set", model, "--weight", "2"])
    assert isinstance(result.exception, Invalid)
    assert "weight 2.0 is not a share" in str(result.exception)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("GET", "/api/v1/models/nope/traffic", None, 404, "name"),
        ("PUT", "/api/v1/models/nope/traffic", {"weight": 0.1}, 404, "name"),
        ("PUT", "/api/v1/models/churn/traffic", {"weight": 2}, 422, "weight"),
        ("PUT", "/api/v1/models/churn/traffic", {"weight": "a lot"}, 422, "weight"),
        ("PUT", "/api/v1/models/churn/traffic", {"challenger": "a b"}, 422, "alias"),
        ("PUT", "/api/v1/models/churn/traffic", {"canary": 0.1}, 422, "canary"),
        ("DELETE", "/api/v1/models/nope/traffic", None, 404, "name"),
    ],
)
def test_the_rest_routes_name_the_bad_field(
    churn_db: str, method: str, path: str, body: object, status: int, field: str
) -> None:
    import warnings

    from knot.server.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    with TestClient(create_app(churn_db, auth=False), raise_server_exceptions=False) as client:
        answer = client.request(method, path, json=body)
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field
        assert client.get("/api/v1/models/churn/traffic").json() is None


@pytest.fixture
def churn_db(knot_home: Path) -> str:
    knot.log_model(Threshold(10.0), registered_model_name="churn", input_example=EXAMPLE)
    return f"sqlite:///{knot_home / 'knot.db'}"
