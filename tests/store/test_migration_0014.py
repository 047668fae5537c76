"""Migration 0014 on a store with pipeline records: the cache entries and step rows
written before it read back as blob outputs (no inline bytes), which the cache and
resume reuse as before (tests/pipelines/test_inline.py runs such an entry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import knot
from knot.store.engine import open_engine
from knot.store.schema import HEAD, upgrade
from tests.backends import StoreBackend

RUN = "a" * 32
STEP_RUN = "b" * 32
KEY = "c" * 64


def test_a_0013_store_keeps_its_blob_outputs(
    sql_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = sql_backend.uri
    engine = open_engine(uri)
    upgrade(engine, uri, "0013")
    digest = "sha256:" + "d" * 64
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pipeline_executions (run_id, pipeline, status, executor, params, "
                "started_at) VALUES (:run, 'etl', 'failed', 'inprocess', '{}', 1)"
            ),
            {"run": RUN},
        )
        conn.execute(
            text(
                "INSERT INTO pipeline_steps (pipeline_run_id, node, position, step, upstream, "
                "status, cache_key, output_digest, output_kind, run_id, attempts) VALUES "
                "(:run, 'load', 0, 'load', '[]', 'ran', :key, :digest, 'pickle', :step, 1)"
            ),
            {"run": RUN, "key": KEY, "digest": digest, "step": STEP_RUN},
        )
        conn.execute(
            text(
                "INSERT INTO pipeline_cache (cache_key, step, output_digest, output_kind, "
                "run_id, created_at) VALUES (:key, 'load', :digest, 'pickle', :step, 1)"
            ),
            {"key": KEY, "digest": digest, "step": STEP_RUN},
        )
    upgrade(engine, uri, "head")
    for table in ("pipeline_cache", "pipeline_steps"):
        assert "output_data" in {c["name"] for c in inspect(engine).get_columns(table)}
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    engine.dispose()

    from knot.pipelines.sql_store import SqlPipelineRecords
    from knot.store.database import Database

    db = Database(uri)
    records = SqlPipelineRecords(db)
    entry = records.lookup(KEY)
    finished = records.finished_steps(RUN)
    db.close()
    assert entry is not None and entry.output.digest == digest and entry.output.data is None
    assert finished["load"].output.digest == digest and finished["load"].output.data is None
    monkeypatch.setenv("KNOT_STORE", uri)
    knot.reset()
    assert knot.get_pipeline_run(RUN)["load"].output_digest == digest
