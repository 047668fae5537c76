"""Schema versioning: fresh stores are created at HEAD, older ones migrated, newer refused."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest
from sqlalchemy import text

from knot.backends import open_tracking_store
from knot.errors import Invalid, SchemaTooNew
from knot.store.engine import open_engine
from knot.store.schema import HEAD, MIGRATIONS, current_revision, upgrade
from tests.backends import StoreBackend


def _revision(uri: str) -> str | None:
    engine = open_engine(uri)
    with engine.connect() as conn:
        rev = current_revision(conn)
    engine.dispose()
    return rev


def test_head_constant_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_fresh_store_is_created_at_head(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'knot.db'}"
    open_tracking_store(uri).close()
    assert _revision(uri) == HEAD


def test_older_store_is_migrated_and_keeps_its_data(sql_backend: StoreBackend) -> None:
    uri = sql_backend.uri  # nothing there yet: the old schema is built below
    engine = open_engine(uri)
    upgrade(engine, uri, "0001")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO experiments VALUES ('e1', 'legacy', NULL, 1)"),
        )
    engine.dispose()
    assert _revision(uri) == "0001"
    store = open_tracking_store(uri)
    assert store.get_experiment_by_name("legacy") is not None
    store.close()
    assert _revision(uri) == HEAD


def test_store_from_a_newer_knot_is_refused_untouched(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'future.db'}"
    open_tracking_store(uri).close()
    engine = open_engine(uri)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaTooNew, match=r"newer than this Knot.*upgrade Knot"):
        open_tracking_store(uri)
    assert _revision(uri) == "9999"


@pytest.mark.parametrize(
    ("uri", "hint"),
    [
        ("mysql://x@y/z", "not supported|no supported scheme"),
        ("nonsense", "no supported scheme"),
        ("sqlite://", "no file"),
    ],
)
def test_bad_store_uri_names_the_accepted_forms(uri: str, hint: str) -> None:
    with pytest.raises(Invalid, match=hint):
        open_tracking_store(uri)


def _open_and_write(uri: str) -> str:
    store = open_tracking_store(uri)
    exp = store.get_experiment_by_name("shared") or _create(store)
    run = store.create_run(exp.experiment_id, user="p")
    store.close()
    return run.run_id


def _create(store):  # type: ignore[no-untyped-def]
    from knot.errors import Conflict

    try:
        return store.create_experiment("shared")
    except Conflict:
        return store.get_experiment_by_name("shared")


def test_eight_processes_opening_a_fresh_store_migrate_it_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'race.db'}"
    with mp.get_context("spawn").Pool(8) as pool:
        run_ids = pool.map(_open_and_write, [uri] * 8)
    assert len(set(run_ids)) == 8
    store = open_tracking_store(uri)
    assert len(store.search_runs(None).runs) == 8
    store.close()
