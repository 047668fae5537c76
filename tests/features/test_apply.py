"""Registering feature views and services: versions, audit, lineage, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from knot.data.store import DatasetStore
from knot.errors import Invalid, NotFound
from knot.features.definitions import FeatureService, FeatureView, parse_ttl
from knot.features.loading import load_definitions
from knot.features.store import FeatureStore
from knot.features.tables import feature_views
from knot.governance.lineage import edges_from, edges_to
from knot.governance.tables import audit_log
from tests.features.conftest import user_rows


def _view(source: Path | str, **changes: object) -> FeatureView:
    spec: dict = dict(
        name="users", entities=["user_id"], timestamp="ts",
        features=[("spend", "float64"), ("visits", "int64")], source=str(source), ttl="7d",
        owner="growth", description="spend and visits per user",
    )  # fmt: skip
    spec.update(changes)
    return FeatureView(**spec)


def test_apply_versions_audits_and_links(feature_store: FeatureStore, users_parquet: Path) -> None:
    view = _view(users_parquet)
    service = FeatureService("recs", ["users:spend"])
    first = feature_store.apply([view, service])
    assert [(a.kind, a.name, a.version, a.changed) for a in first] == [
        ("feature_view", "users", 1, True),
        ("feature_service", "recs", 1, True),
    ]
    again = feature_store.apply([view, service])
    assert [(a.version, a.changed) for a in again] == [(1, False), (1, False)]
    changed = feature_store.apply([_view(users_parquet, ttl="2d")])
    assert (changed[0].version, changed[0].changed) == (2, True)
    assert feature_store.catalog.view("users").view.ttl_seconds == 2 * 86400
    assert feature_store.catalog.view("users", 1).view.ttl_seconds == 7 * 86400
    with feature_store.db.read() as conn:
        actions = [
            (r.action, r.entity_id)
            for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))
        ]
        members = edges_to(conn, "feature_service", "recs/1")
    assert actions == [
        ("feature_view.apply", "users/1"),
        ("feature_service.apply", "recs/1"),
        ("feature_view.apply", "users/2"),
    ]
    assert [(e.from_kind, e.from_id, e.relation) for e in members] == [
        ("feature_view", "users/1", "member")
    ]


def test_a_dataset_source_links_its_exact_version(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    data = DatasetStore(feature_store.db, feature_store.artifacts)
    data.register("user_stats", user_rows())
    data.register("user_stats", user_rows().assign(spend=[5.0, 6.0, 7.0, 8.0]))
    feature_store.apply([_view("user_stats")])
    with feature_store.db.read() as conn:
        edges = edges_from(conn, "dataset", "user_stats@2")
    assert [(e.relation, e.to_kind, e.to_id) for e in edges] == [
        ("source", "feature_view", "users/1")
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": [("spend", "float64"), ("age", "int64")]}, "reads columns ['age']"),
        ({"ttl": "soon"}, "ttl 'soon' is not a duration"),
        ({"ttl": -5}, "must be positive"),
        ({"name": "bad name"}, "feature view name 'bad name' is not a valid name"),
        ({"features": [("spend", "decimal")]}, "has type 'decimal'; use one of"),
        ({"entities": []}, "names no entity key"),
        ({"features": [("user_id", "int64")]}, "names ['user_id'] twice"),
        ({"source": "/nowhere/users.parquet"}, "which is not a file"),
    ],
)
def test_bad_views_are_refused_and_change_nothing(
    local_features: FeatureStore, users_parquet: Path, change: dict, message: str
) -> None:
    feature_store = local_features
    change = {"source": str(users_parquet), **change}
    with pytest.raises(Invalid, match=message.replace("[", r"\[").replace("(", r"\(")):
        feature_store.apply([_view(**change)])
    with feature_store.db.read() as conn:
        assert conn.execute(select(feature_views)).first() is None


def test_a_service_must_name_stored_features(
    feature_store: FeatureStore, users_parquet: Path
) -> None:
    with pytest.raises(Invalid, match="view 'users' has only spend, visits"):
        feature_store.apply([_view(users_parquet), FeatureService("recs", ["users:age"])])
    with pytest.raises(NotFound, match="feature view 'items' not found"):
        feature_store.apply([FeatureService("recs", ["items"])])
    with feature_store.db.read() as conn:
        assert conn.execute(select(feature_views)).first() is None  # all or nothing


def test_missing_dataset_source_is_not_found(feature_store: FeatureStore) -> None:
    with pytest.raises(NotFound, match="dataset 'ghost' not found"):
        feature_store.apply([_view("ghost")])


def test_yaml_and_python_definitions(tmp_path: Path, users_parquet: Path) -> None:
    yaml_file = tmp_path / "features.yaml"
    yaml_file.write_text(
        "views:\n"
        "  - name: users\n    entities: [user_id]\n    timestamp: ts\n    ttl: 12h\n"
        "    source: {parquet: users.parquet}\n"
        "    features: {spend: float64, visits: int64}\n"
        "services:\n  - name: recs\n    features: [users]\n"
    )
    view, service = load_definitions(yaml_file)
    assert isinstance(view, FeatureView) and isinstance(service, FeatureService)
    assert view.parquet_path == users_parquet  # relative to the YAML file
    assert view.ttl_seconds == 12 * 3600 and view.feature_names == ["spend", "visits"]
    py_file = tmp_path / "features.py"
    py_file.write_text(
        "from knot.features import FeatureView\n"
        f"users = FeatureView('users', ['user_id'], 'ts', [('spend', 'float64')], "
        f"{str(users_parquet)!r})\n"
    )
    (loaded,) = load_definitions(py_file)
    assert isinstance(loaded, FeatureView) and loaded.feature_names == ["spend"]
    with pytest.raises(Invalid, match="is not a file; give a"):
        load_definitions(tmp_path / "nope.yaml")
    yaml_file.write_text("views:\n  - name: users\n    colour: red\n")
    with pytest.raises(Invalid, match=r"unknown fields \['colour'\]"):
        load_definitions(yaml_file)


def test_parse_ttl() -> None:
    assert [parse_ttl(v) for v in (None, 60, "90s", "2m", "3h", "1d", "2w")] == [
        None, 60, 90, 120, 10800, 86400, 1209600,
    ]  # fmt: skip
    with pytest.raises(Invalid):
        parse_ttl(True)


def test_spec_round_trips(users_parquet: Path) -> None:
    view = _view(users_parquet).check()
    again = FeatureView.from_spec(json.loads(json.dumps(view.spec())))
    assert again == _view(users_parquet, ttl=7 * 86400)
    assert again.digest() == view.digest() or again.spec() == view.spec()


def test_migration_builds_the_declared_tables(tmp_path: Path) -> None:
    from knot.features import tables
    from tests.migrations import assert_migration_builds

    assert_migration_builds(tables, tmp_path)
