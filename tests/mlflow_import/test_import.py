"""`knot import mlflow` through the installed entry point: a store written by the real
MLflow library arrives whole (every metric point, param, tag, artifact byte, version and
alias), a second import copies nothing, and an import killed halfway completes on the
next run without duplicates; on SQLite, and once on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.knot_process import KNOT, assert_ok, environment, run
from tests.mlflow_import.compare import assert_same
from tests.mlflow_import.conftest import MlflowStore


def _stores(home: Path, store: str | None = None) -> dict[str, str]:
    return {
        "KNOT_STORE": store or f"sqlite:///{home / 'knot.db'}",
        "KNOT_ARTIFACTS": f"file://{home / 'artifacts'}",
    }


def _import(home: Path, source: str, stores: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(home, "import", "mlflow", "--from", source, "--json", **stores)


def _counts(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = json.loads(done.stdout)["counts"]
    return counts


def test_an_import_copies_everything_and_a_second_one_nothing(
    mlflow_store: MlflowStore, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    stores = _stores(home)
    first = _import(home, mlflow_store.uri, stores)
    counts = _counts(first)
    assert_ok(first)
    assert counts["runs"] == {"imported": 200, "present": 0, "skipped": 0, "failed": 0}
    assert counts["versions"]["imported"] == 2
    assert counts["aliases"]["imported"] == 2
    assert assert_same(mlflow_store.uri, stores["KNOT_STORE"], stores["KNOT_ARTIFACTS"]) == 200

    again = _import(home, mlflow_store.uri, stores)
    assert_ok(again)
    assert sum(c["imported"] for c in _counts(again).values()) == 0
    assert _counts(again)["runs"]["present"] == 200
    assert json.loads(again.stdout)["metric_points"] == 0


def _runs_in(db: Path) -> int:
    """Runs the killed import has committed so far (0 before it made the store)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:  # no file or no table yet
        return 0


def test_an_import_killed_halfway_completes_without_duplicates(
    mlflow_store: MlflowStore, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    stores = _stores(home)
    args = [KNOT, "import", "mlflow", "--from", mlflow_store.uri, "--json"]
    env = environment(home, **stores)
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
    try:
        # the store says how far it got: no clock decides when to kill
        while process.poll() is None and _runs_in(home / "knot.db") < 60:
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
    assert process.returncode < 0, "the import finished before it could be killed"
    assert 60 <= _runs_in(home / "knot.db") < 200

    resumed = _import(home, mlflow_store.uri, stores)
    assert_ok(resumed)
    runs = _counts(resumed)["runs"]
    assert runs["present"] >= 60 and runs["imported"] + runs["present"] == 200
    assert assert_same(mlflow_store.uri, stores["KNOT_STORE"], stores["KNOT_ARTIFACTS"]) == 200


@pytest.mark.postgres
def test_an_import_into_postgresql(
    small_store: MlflowStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # the same code as on SQLite, so the small store of the same shape is enough here
    uri = request.getfixturevalue("postgres").new_database()
    home = tmp_path / "home"
    stores = _stores(home, uri)
    done = _import(home, small_store.uri, stores)
    assert_ok(done)
    assert _counts(done)["runs"]["imported"] == 4
    assert _counts(done)["versions"]["imported"] == 2
    assert assert_same(small_store.uri, uri, stores["KNOT_ARTIFACTS"]) == 4


_FILE_STORE = """
import sys
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

client = MlflowClient(tracking_uri=sys.argv[1])
experiment = client.create_experiment("before-sqlite")
for i in range(3):
    run_id = client.create_run(experiment, tags={"mlflow.runName": f"old-{i}"}).info.run_id
    points = [Metric("loss", 1 / (s + 1), 1_000 + s, s) for s in range(5)]
    client.log_batch(run_id, metrics=points, params=[Param("i", str(i))])
    client.log_text(run_id, f"run {i}", "notes.txt")
    client.set_terminated(run_id)
"""


def test_an_import_from_mlflows_old_file_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow 3 refuses to open a file store unless told to; the import reads it anyway
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlruns = tmp_path / "mlruns"
    written = subprocess.run(
        [sys.executable, "-c", _FILE_STORE, mlruns.as_uri()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr[-2000:]
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    home = tmp_path / "home"
    stores = _stores(home)
    done = _import(home, str(mlruns), stores)
    assert_ok(done)
    assert _counts(done)["runs"]["imported"] == 3
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    assert assert_same(mlruns.as_uri(), stores["KNOT_STORE"], stores["KNOT_ARTIFACTS"]) == 3
