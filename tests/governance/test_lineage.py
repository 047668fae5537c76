"""The lineage graph, one recursive query on every backend: dataset -> run -> model
version and on, up and down stream, with a depth limit, cycles and bad references."""

from __future__ import annotations

from pathlib import Path

import pytest

from knot.errors import Invalid, NotFound
from knot.governance.lineage import Edge, add_edges
from knot.governance.lineage_graph import LineageGraph
from knot.governance.sql_store import SqlGovernance
from knot.registry.tables import model_aliases, model_versions, registered_models
from knot.store.database import Database
from knot.tracking.tables import experiments, runs
from tests.governance.conftest import Backend

RUN_A, RUN_B = "a" * 32, "b" * 32

# churn@1 -input-> run A -output-> churn@2 -input-> run B -produced-> churn/3 -> modelkit;
# run B also reads churn@1 directly, so churn@1 is both 2 and 3 steps above the model
EDGES = [
    Edge("dataset", "churn@1", "input", "run", RUN_A),
    Edge("run", RUN_A, "output", "dataset", "churn@2"),
    Edge("dataset", "churn@2", "input", "run", RUN_B),
    Edge("dataset", "churn@1", "input", "run", RUN_B),
    Edge("run", RUN_B, "produced", "model_version", "churn/3"),
    Edge("model_version", "churn/3", "packaged", "modelkit", "sha256:" + "c" * 64),
]


@pytest.fixture
def churn(backend: Backend) -> Backend:
    with backend.db.write() as conn:
        add_edges(conn, EDGES)
    return backend


def _layers(graph: LineageGraph) -> dict[str, int]:
    return {n.key: n.layer for n in graph.nodes}


def _edges(graph: LineageGraph) -> set[tuple[str, str, str]]:
    return {(e.source, e.relation, e.target) for e in graph.edges}


def test_lineage_from_dataset_to_model_and_back(churn: Backend) -> None:
    graph = churn.store.lineage("models:/churn/3")
    assert graph.root.key == "model_version:churn/3" and graph.nodes[0] == graph.root
    assert _layers(graph) == {
        "model_version:churn/3": 0,
        f"run:{RUN_B}": -1,
        "dataset:churn@2": -2,
        "dataset:churn@1": -2,  # the nearest way up wins
        f"run:{RUN_A}": -3,
        "modelkit:sha256:" + "c" * 64: 1,
    }
    assert _edges(graph) == {(f"{e.from_kind}:{e.from_id}", e.relation, f"{e.to_kind}:{e.to_id}")
                             for e in EDGES}  # fmt: skip
    down = churn.store.lineage("dataset:churn@1", direction="down")
    assert _layers(down)["model_version:churn/3"] == 2  # churn@1 -> run B -> churn/3
    assert _layers(down)[f"run:{RUN_A}"] == 1 and "dataset:churn@1" in _layers(down)
    assert all(layer >= 0 for layer in _layers(down).values())


def test_direction_and_depth_limit_the_walk(churn: Backend) -> None:
    up = churn.store.lineage(f"run:{RUN_B}", direction="up", depth=1)
    assert _edges(up) == {
        ("dataset:churn@2", "input", f"run:{RUN_B}"),
        ("dataset:churn@1", "input", f"run:{RUN_B}"),
    }
    bare = churn.store.lineage(RUN_B, direction="down", depth=1)  # a bare run id
    assert _edges(bare) == {(f"run:{RUN_B}", "produced", "model_version:churn/3")}
    both = churn.store.lineage(f"run:{RUN_B}", depth=2)
    assert f"run:{RUN_A}" in _layers(both) and "modelkit:sha256:" + "c" * 64 in _layers(both)
    assert _layers(churn.store.lineage(f"run:{RUN_B}", depth=1)).keys() == {
        f"run:{RUN_B}",
        "dataset:churn@1",
        "dataset:churn@2",
        "model_version:churn/3",
    }


def test_a_cycle_ends_and_each_edge_appears_once(backend: Backend) -> None:
    with backend.db.write() as conn:
        add_edges(conn, [Edge("x", "1", "feeds", "x", "2"), Edge("x", "2", "feeds", "x", "1")])
    graph = backend.store.lineage("x:1", depth=50)
    assert len(graph.edges) == 2 and len(graph.nodes) == 2


def test_a_node_without_lineage_is_just_the_root(backend: Backend) -> None:
    graph = backend.store.lineage("dataset:nothing@1")
    assert graph.edges == [] and [n.key for n in graph.nodes] == ["dataset:nothing@1"]


def test_bad_direction_and_depth_are_refused(churn: Backend) -> None:
    with pytest.raises(Invalid, match="direction 'sideways'"):
        churn.store.lineage("models:/churn/3", direction="sideways")
    with pytest.raises(Invalid, match="depth"):
        churn.store.lineage("models:/churn/3", depth=0)
    with pytest.raises(Invalid, match="models:/NAME/VERSION"):
        churn.store.lineage("models:/churn/0")  # the grammar: tests/test_refs.py


def _register_churn_3_as_champion(db: Database) -> None:
    """The registry's rows for churn/3 (made by run B) with the alias champion on it."""
    by = {"created_at": 1, "created_by": "test"}
    experiment = {"experiment_id": "e" * 32, "name": "churn", "created_at": 1}
    run = {"run_id": RUN_B, "experiment_id": "e" * 32, "name": "b", "status": "FINISHED"}
    version = {"name": "churn", "version": 3, "run_id": RUN_B, "artifact_path": "model"}
    version |= {"artifact_digest": "sha256:" + "d" * 64, "flavor": "sklearn", "status": "ready"}
    alias = {"name": "churn", "alias": "champion", "version": 3}
    with db.write() as conn:
        conn.execute(experiments.insert(), experiment)
        conn.execute(runs.insert(), {**run, "start_time": 1, "user": "test"})
        conn.execute(registered_models.insert(), {"name": "churn", "updated_at": 1, **by})
        conn.execute(
            model_versions.insert(), {**version, "environment": "{}", "datasets": "[]", **by}
        )
        conn.execute(model_aliases.insert(), {**alias, "updated_at": 1, "updated_by": "test"})


def test_an_alias_resolves_through_the_registry(churn: Backend) -> None:
    """knot.backends gives every SQL governance store (the server's too) the registry's
    alias resolver, though governance sits below the registry and never imports it."""
    _register_churn_3_as_champion(churn.db)
    graph = churn.store.lineage("models:/churn@champion", direction="up", depth=1)
    assert graph.root.key == "model_version:churn/3" and len(graph.edges) == 1
    assert churn.store.lineage("models:/churn", direction="up", depth=1) == graph  # latest
    with pytest.raises(NotFound, match="champion -> 3"):
        churn.store.lineage("models:/churn@nope")
    with pytest.raises(NotFound, match="ghost"):
        churn.store.lineage("models:/ghost@champion")


def test_an_alias_without_a_registry_says_to_name_the_version(tmp_path: Path) -> None:
    store = SqlGovernance(f"sqlite:///{tmp_path / 'knot.db'}")  # no alias resolver given
    try:
        with pytest.raises(Invalid, match="models:/NAME/VERSION"):
            store.lineage("models:/churn@champion")
        assert store.lineage("models:/churn/3").root.key == "model_version:churn/3"
    finally:
        store.close()
