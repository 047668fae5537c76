"""`knot import mlflow` on sources it must not trust: a URI that names nothing, a file
that is no MLflow store, artifacts and model files missing from a real one, and a
Knot model whose promotion policy guards an alias MLflow has set."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from knot.backends import open_registry_store
from knot.registry.entities import PromotionPolicy
from knot.store.database import Database
from tests.cli.knot_process import assert_check_failed, assert_error, assert_ok, run
from tests.mlflow_import.compare import assert_same
from tests.mlflow_import.conftest import MlflowStore
from tests.servers import free_port


def _stores(home: Path) -> dict[str, str]:
    return {
        "KNOT_STORE": f"sqlite:///{home / 'knot.db'}",
        "KNOT_ARTIFACTS": f"file://{home / 'artifacts'}",
    }


def test_a_source_that_is_no_mlflow_store_is_exit_2_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    stores = _stores(home)
    missing = tmp_path / "nowhere.db"
    done = run(home, "import", "mlflow", "--from", f"sqlite:///{missing}", **stores)
    assert_error(done, "does not exist", str(missing))
    assert not missing.exists()  # MLflow's client would have created it

    knot_db = tmp_path / "other-knot.db"
    Database(f"sqlite:///{knot_db}").close()  # Knot's own store: runs, but no MLflow tables
    text = tmp_path / "notes.db"
    text.write_text("not a database")
    for path in (knot_db, text):
        before = path.read_bytes()
        done = run(home, "import", "mlflow", "--from", f"sqlite:///{path}", **stores)
        assert_error(done, "is not an MLflow store", str(path), "latest_metrics")
        assert path.read_bytes() == before

    assert_error(run(home, "import", "mlflow", "--from", " ", **stores), "--from is empty")
    folder = tmp_path / "no-mlruns"
    done = run(home, "import", "mlflow", "--from", str(folder), **stores)
    assert_error(done, "does not exist", str(folder))
    folder.mkdir()
    done = run(home, "import", "mlflow", "--from", str(folder), **stores)
    assert_error(done, "is not an MLflow file store", str(folder))
    assert not list(folder.iterdir())
    # nothing listens there: said at once, not after MLflow's minutes of retries
    nobody = f"http://127.0.0.1:{free_port()}"
    done = run(home, "import", "mlflow", "--from", nobody, **stores)
    assert_error(done, "cannot reach the MLflow server", nobody)
    assert not (home / "knot.db").exists()  # nothing was opened on the Knot side either


def _only_file(root: Path, name: str) -> Path:
    found = sorted(root.rglob(name))
    assert found, name
    return found[0]


def _notes_of(store: MlflowStore, *, holds_a_version: bool) -> Path:
    """notes.txt of a run that holds a registered version's model, or of one that holds none."""
    client = MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
    version_runs = {v.run_id for v in client.search_model_versions("name = 'churn'")}
    found = [
        p
        for p in sorted((store.folder / "mlruns").rglob("notes.txt"))
        if (p.parents[1].name in version_runs) == holds_a_version
    ]
    assert found, f"no run with notes.txt that holds a version: {holds_a_version}"
    return found[0]


def test_missing_files_are_listed_as_failed_and_a_rerun_after_the_fix_completes(
    small_store: MlflowStore, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    stores = _stores(home)
    mlruns = small_store.folder / "mlruns"
    notes = _notes_of(small_store, holds_a_version=False)
    run_id = notes.parents[1].name
    saved = notes.read_bytes()
    model = _only_file(mlruns / "1" / "models", "MLmodel").parents[1]
    aside = tmp_path / "model-aside"
    notes.unlink()
    notes.symlink_to(tmp_path / "gone.txt")  # listed by MLflow, unreadable
    shutil.move(model, aside)
    try:
        done = run(home, "import", "mlflow", "--from", small_store.uri, **stores)
        assert_check_failed(done, "could not be imported", "run the same command again")
        lines = done.stdout.splitlines()
        # MLflow cannot even list that run's artifacts: they fail together, naming the file
        assert any(
            line.startswith(f"failed: artifacts: run {run_id}:") and "notes.txt" in line
            for line in lines
        ), done.stdout
        assert any(
            line.startswith("failed: versions: churn version ") and "missing or empty" in line
            for line in lines
        ), done.stdout
        assert any(line.startswith("failed: aliases: churn@") for line in lines)
    finally:
        notes.unlink()
        notes.write_bytes(saved)
        shutil.move(aside, model)

    again = run(home, "import", "mlflow", "--from", small_store.uri, "--json", **stores)
    assert_ok(again)
    counts = json.loads(again.stdout)["counts"]
    assert counts["runs"] == {"imported": 0, "present": 4, "skipped": 0, "failed": 0}
    # notes.txt and plots/ of that run (and its logged model, if it has one: those wait
    # for the run's list, which decides their path), and the model's folder on its run
    assert counts["artifacts"]["imported"] >= 3
    assert counts["artifacts"]["failed"] == counts["versions"]["failed"] == 0
    assert assert_same(small_store.uri, stores["KNOT_STORE"], stores["KNOT_ARTIFACTS"]) == 4


@pytest.mark.usefixtures("knot_home")
def test_a_version_whose_run_cannot_be_listed_waits_for_the_rerun(
    small_store: MlflowStore, tmp_path: Path
) -> None:
    """Where a logged model goes on its run depends on the run's other artifacts, so a
    version of a run MLflow cannot list fails now and lands at the model's path later:
    never at a stand-in path that would leave the model twice on the run."""
    home = tmp_path / "home"
    stores = _stores(home)
    notes = _notes_of(small_store, holds_a_version=True)
    saved = notes.read_bytes()
    notes.unlink()
    notes.symlink_to(tmp_path / "gone.txt")
    try:
        done = run(home, "import", "mlflow", "--from", small_store.uri, **stores)
        assert_check_failed(done, "could not be imported", "run the same command again")
        assert any(
            line.startswith("failed: versions: churn version ") and "could not be listed" in line
            for line in done.stdout.splitlines()
        ), done.stdout
    finally:
        notes.unlink()
        notes.write_bytes(saved)
    assert_ok(run(home, "import", "mlflow", "--from", small_store.uri, **stores))
    assert assert_same(small_store.uri, stores["KNOT_STORE"], stores["KNOT_ARTIFACTS"]) == 4


def test_an_alias_the_promotion_policy_guards_is_skipped_with_the_reason(
    small_store: MlflowStore, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    stores = _stores(home)
    home.mkdir()
    registry = open_registry_store(stores["KNOT_STORE"])
    try:
        registry.create_model("churn")
        registry.set_policy("churn", PromotionPolicy(aliases=["champion"]))
    finally:
        registry.close()
    done = run(home, "import", "mlflow", "--from", small_store.uri, **stores)
    assert_ok(done)
    # the summary table: model churn was there already
    assert re.search(r"models\s*│\s*0\s*│\s*1\s*│", done.stdout), done.stdout
    skipped = [line for line in done.stdout.splitlines() if line.startswith("skipped: aliases")]
    assert len(skipped) == 1 and "churn@champion" in skipped[0], done.stdout
    assert "promote" in skipped[0]  # Knot's reason: guarded aliases move by promotion
    registry = open_registry_store(stores["KNOT_STORE"])
    try:
        assert registry.get_model("churn").aliases == {"challenger": 1}
    finally:
        registry.close()
    assert os.path.exists(home / "knot.db")
