"""The SDK ties runs to data: use_dataset, automatic capture on load, and outputs, on
SQLite, PostgreSQL and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import knot
from knot.errors import Invalid, Unavailable
from knot.governance.lineage import edges_from, edges_to
from knot.store.database import Database
from knot.tracking.datasets import run_inputs
from tests.backends import StoreBackend


@pytest.fixture
def db(
    knot_home: Path, store_backend: StoreBackend, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """The SDK on every backend, and the database beneath it to read its lineage."""
    store_backend.use(monkeypatch)
    database = Database(store_backend.db_uri)
    yield database
    database.close()


@pytest.fixture
def churn(db: Database, frame: pd.DataFrame) -> str:
    return knot.register_dataset("churn", frame, description="customers").ref


def _edges_to(db: Database, kind: str, node: str) -> list[tuple[str, str, str]]:
    with db.read() as conn:
        return [(e.from_kind, e.from_id, e.relation) for e in edges_to(conn, kind, node)]


def test_use_dataset_records_the_exact_version(
    churn: str, frame: pd.DataFrame, db: Database
) -> None:
    knot.register_dataset("churn", frame.head(10))
    knot.set_dataset_alias("churn@1", "golden")
    with knot.start_run("train") as run:
        used = run.use_dataset("churn@golden")
        assert used.ref == "churn@1"
    assert run_inputs(run.run_id) == ["churn@1"]
    assert _edges_to(db, "run", run.run_id) == [("dataset", "churn@1", "input")]


def test_loading_inside_a_run_captures_the_input(churn: str, db: Database) -> None:
    loaded = knot.load_dataset("churn")  # outside a run: no edge
    assert isinstance(loaded, pd.DataFrame) and len(loaded) == 200
    with knot.start_run("train") as run:
        table = knot.load_dataset("churn@latest", format="arrow", columns=["age"])
        assert isinstance(table, pa.Table) and table.column_names == ["age"]
    assert run_inputs(run.run_id) == ["churn@1"]
    with db.read() as conn:
        assert [e.to_id for e in edges_from(conn, "dataset", "churn@1")] == [run.run_id]


def test_a_runs_output_is_derived_from_its_inputs(
    churn: str, frame: pd.DataFrame, db: Database
) -> None:
    with knot.start_run("clean") as run:
        raw = knot.load_dataset("churn")
        out = run.log_dataset("churn_clean", raw[raw.age < 60])
        inside = knot.register_dataset("churn_small", raw.head(5))
    assert out.run_id == run.run_id and inside.run_id == run.run_id
    assert set(_edges_to(db, "dataset", out.ref)) == {
        ("run", run.run_id, "output"),
        ("dataset", "churn@1", "derived"),
    }
    assert ("run", run.run_id, "output") in _edges_to(db, "dataset", inside.ref)


def test_sdk_lists_validates_profiles_and_diffs(
    churn: str, frame: pd.DataFrame, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("columns:\n  age: {max: 60}\n")
    report = knot.validate_dataset(churn, rules)
    assert not report.passed and knot.dataset_reports(churn)[0].report_id == report.report_id
    assert knot.profile_dataset(churn).column("age").max == 97  # type: ignore[union-attr]
    assert [d.name for d in knot.list_datasets()] == ["churn"]
    assert knot.get_dataset("churn").description == "customers"
    knot.register_dataset("churn", frame.assign(extra=1))
    assert [c.column for c in knot.diff_datasets("churn@1", "churn@2").schema_changes] == ["extra"]
    assert [v.ref for v in knot.list_dataset_versions("churn")] == ["churn@1", "churn@2"]
    assert knot.set_dataset_rules("churn", rules) is not None
    assert knot.register_dataset("churn", frame.head(3)).status.value == "accepted"
    with pytest.raises(Invalid, match="format 'excel'"):
        knot.load_dataset("churn", format="excel")  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=r"no column \['nope'\]"):
        knot.load_dataset("churn", columns=["nope"])


def test_an_unreachable_server_says_which_and_what_to_do(
    knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOT_STORE", "http://127.0.0.1:9")
    knot.reset()
    with pytest.raises(Unavailable, match=r"cannot reach the Knot server at http://127\.0\.0\.1:9"):
        knot.list_datasets()
