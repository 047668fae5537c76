"""knot.backends, the one place a metadata URI picks each area's implementation: the
openers the areas ask (installed when `knot` is imported) give SQL repositories on one
Database for sqlite:/// and postgresql://, REST clients on one connection pool for
http(s)://, and refuse any other scheme naming the URI and the schemes that work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knot import backends
from knot.client.rest_governance import RestGovernance
from knot.client.rest_registry import RestRegistryStore
from knot.client.rest_store import RestTrackingStore
from knot.client.rest_traffic import RestTraffic
from knot.errors import Invalid
from knot.governance.sql_store import SqlGovernance
from knot.governance.stores import open_governance
from knot.registry.aliases import resolve_alias
from knot.registry.sql_store import SqlRegistryStore
from knot.registry.stores import open_registry_store
from knot.serving.stores import open_traffic
from knot.serving.traffic import TrafficStore
from knot.tracking.sql_store import SqlTrackingStore
from knot.tracking.stores import open_tracking_store
from tests.cli.knot_process import assert_error, assert_ok, run
from tests.governance.test_lineage import EDGES, _register_churn_3_as_champion


def test_a_sql_uri_opens_every_area_on_one_database(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    tracking = open_tracking_store(uri)  # what knot.start_run's session asks
    registry = open_registry_store(uri, tracking)
    governance = open_governance(uri)
    try:
        assert isinstance(tracking, SqlTrackingStore)
        assert isinstance(registry, SqlRegistryStore) and registry.db is tracking.db
        traffic = open_traffic(registry)
        assert isinstance(traffic, TrafficStore) and traffic.db is tracking.db
        # governance sits below the registry; the alias resolver comes from up here
        assert isinstance(governance, SqlGovernance)
        assert governance._resolve_alias is resolve_alias
    finally:
        governance.close()
        registry.close()
        tracking.close()


@pytest.mark.parametrize("scheme", ["http", "https", "HTTP"])
def test_a_server_uri_opens_every_area_on_one_client(scheme: str) -> None:
    uri = f"{scheme}://127.0.0.1:9"  # nothing listens: opening a client sends nothing
    tracking = open_tracking_store(uri)
    registry = open_registry_store(uri, tracking)
    governance = open_governance(uri)
    try:
        assert isinstance(tracking, RestTrackingStore)
        assert isinstance(registry, RestRegistryStore)
        assert registry._client is tracking._client
        traffic = open_traffic(registry)
        assert isinstance(traffic, RestTraffic) and traffic._client is tracking._client
        assert isinstance(governance, RestGovernance)
    finally:
        governance.close()
        registry.close()
        tracking.close()


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("sqlite:////tmp/knot.db", "sql"),
        ("postgresql://knot@127.0.0.1:5432/knot", "sql"),
        ("postgres://knot@127.0.0.1/knot", "sql"),
        ("postgresql+psycopg://knot@127.0.0.1/knot", "sql"),
        ("https://knot.example:8765", "rest"),
    ],
)
def test_each_supported_scheme_names_its_kind(uri: str, kind: str) -> None:
    assert backends.backend_of(uri) == kind


@pytest.mark.parametrize("uri", ["mysql://x@y/z", "file:///tmp/knot.db", "nonsense", ""])
def test_an_unknown_scheme_is_refused_by_every_opener(uri: str, tmp_path: Path) -> None:
    for opener in (open_tracking_store, open_governance, lambda u: open_registry_store(u)):
        with pytest.raises(Invalid, match="no supported scheme") as raised:
            opener(uri)
        assert repr(uri) in raised.value.message and "sqlite:///" in raised.value.message
        assert "http://host:port" in raised.value.message


def test_the_cli_resolves_a_model_alias_in_lineage(tmp_path: Path) -> None:
    """The installed `knot` reaches the registry's alias resolver through knot.backends,
    and a store URI with an unknown scheme is one clear error (exit 2)."""
    from knot.governance.lineage import add_edges
    from knot.store.database import Database

    home = tmp_path / "home"
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    db = Database(uri)
    try:
        with db.write() as conn:
            add_edges(conn, EDGES)
        _register_churn_3_as_champion(db)
    finally:
        db.close()
    out = assert_ok(
        run(home, "lineage", "models:/churn@champion", "--json", "-d", "up", KNOT_STORE=uri)
    )
    graph = json.loads(out)
    assert graph["root"] == {"kind": "model_version", "id": "churn/3", "layer": 0}
    assert {e["relation"] for e in graph["edges"]} == {"produced", "input", "output"}
    assert_error(run(home, "lineage", "models:/churn/3", KNOT_STORE="ftp://x/y"), "ftp://x/y")


def test_traffic_needs_the_registry_store_a_backend_opened() -> None:
    class Bare:  # a registry store on a SQL URI that keeps no Database
        uri = "sqlite:////tmp/knot.db"

    with pytest.raises(Invalid, match=r"no database for traffic records.*open_registry_store"):
        open_traffic(Bare())  # type: ignore[arg-type]
