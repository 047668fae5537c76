"""The tracking SDK through its public surface: knot.start_run and friends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import knot
from knot.errors import Conflict, Invalid, NotFound


def test_run_context_sets_status_and_records_everything(knot_home: Path) -> None:
    with knot.start_run("first", experiment="churn", tags={"team": "ml"}) as run:
        run.log_params({"model": "lgbm", "depth": 6})
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metrics({"auc": 0.91, "f1": 0.7})
        run.set_tag("stage", "dev")
    got = knot.get_run(run.run_id)
    assert got.status is knot.RunStatus.FINISHED and got.end_time is not None
    assert got.params == {"model": "lgbm", "depth": "6"}
    assert got.tags == {"team": "ml", "stage": "dev"} and got.user == "tester"
    assert got.metric("auc") == 0.91 and got.metrics["loss"].count == 100
    assert [p.step for p in knot.get_metric_history(run.run_id, "loss")] == list(range(100))
    assert got.source.python_version and got.source.packages["knot"] == knot.__version__


def test_block_that_raises_marks_run_failed(knot_home: Path) -> None:
    with pytest.raises(RuntimeError), knot.start_run("boom") as run:
        run.log_metric("loss", 1.0)
        raise RuntimeError("diverged")
    got = knot.get_run(run.run_id)
    assert got.status is knot.RunStatus.FAILED and got.metrics["loss"].latest == 1.0


def test_nested_runs_and_module_level_logging(knot_home: Path) -> None:
    with knot.start_run("parent") as parent:
        with knot.start_run("child", nested=True) as child:
            knot.log_metric("m", 2.0)
            knot.log_param("p", "x")
            assert knot.active_run() is child
        assert knot.active_run() is parent
        with pytest.raises(Invalid, match="already active"):
            knot.start_run("sibling")
    got = knot.get_run(child.run_id)
    assert got.parent_run_id == parent.run_id and got.params == {"p": "x"}
    assert knot.active_run() is None


def test_logging_without_a_run_starts_one_like_mlflow(knot_home: Path) -> None:
    knot.log_metric("x", 1.0)
    run = knot.active_run()
    assert run is not None
    knot.end_run()
    assert knot.get_run(run.run_id).status is knot.RunStatus.FINISHED


def test_bad_input_fails_at_the_call_site(knot_home: Path) -> None:
    with knot.start_run() as run:
        run.log_param("lr", 0.1)
        with pytest.raises(Conflict, match="immutable"):
            run.log_param("lr", 0.2)
        with pytest.raises(Invalid, match="not a number"):
            run.log_metric("loss", "high")  # type: ignore[arg-type]
        with pytest.raises(Invalid, match="characters"):
            run.log_metric("bad\tkey", 1.0)
        with pytest.raises(Invalid, match="step"):
            run.log_metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(Invalid, match="limit"):
            run.log_param("long", "x" * 7000)
    assert knot.get_run(run.run_id).params == {"lr": "0.1"}


def test_numpy_values_are_accepted(knot_home: Path) -> None:
    import numpy as np

    with knot.start_run() as run:
        run.log_metric("a", np.float32(0.5), step=np.int64(3))  # type: ignore[arg-type]
        run.log_metrics({"b": np.float64(1.5)})
    got = knot.get_run(run.run_id)
    assert got.metrics["a"].latest == 0.5 and got.metrics["a"].latest_step == 3


def test_search_runs_by_experiment_filter_and_order(knot_home: Path) -> None:
    for i, model in enumerate(["lgbm", "xgb", "lgbm"]):
        with knot.start_run(f"r{i}", experiment="sweep") as run:
            run.log_param("model", model)
            run.log_metric("auc", 0.7 + i / 10)
    found = knot.search_runs(
        'metrics.auc > 0.75 and params.model = "lgbm"',
        experiment="sweep",
        order_by=["metrics.auc DESC"],
    )
    assert [r.name for r in found] == ["r2"]
    frame = knot.search_runs(experiment="sweep").to_pandas()
    assert set(frame["params.model"]) == {"lgbm", "xgb"}
    with pytest.raises(NotFound, match="sweep"):
        knot.search_runs(experiment="nope")


def test_resume_a_run_by_id(knot_home: Path) -> None:
    with knot.start_run("long") as run:
        run.log_metric("loss", 1.0, step=0)
    with knot.start_run(run_id=run.run_id) as again:
        again.log_metric("loss", 0.5, step=1)
    got = knot.get_run(run.run_id)
    assert got.metrics["loss"].count == 2 and got.status is knot.RunStatus.FINISHED


def test_artifacts_files_and_folders_round_trip(knot_home: Path, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"\x00" * 1000)
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("hello")
    with knot.start_run() as run:
        folder = run.log_artifact(tmp_path / "model")
        file = run.log_artifact(tmp_path / "notes.txt", "docs/notes.txt")
        run.log_dict({"a": 1}, "meta.json")
        with pytest.raises(NotFound, match="does not exist"):
            run.log_artifact(tmp_path / "missing.txt")
        with pytest.raises(Invalid, match="relative"):
            run.log_artifact(tmp_path / "notes.txt", "../escape.txt")
    assert folder.kind == "folder" and folder.size == 1002 and file.path == "docs/notes.txt"
    assert [a.path for a in knot.list_artifacts(run.run_id)] == [
        "docs/notes.txt",
        "meta.json",
        "model",
    ]
    out = tmp_path / "out"
    restored = knot.download_artifact(run.run_id, "model", out)
    assert (restored / "weights.bin").read_bytes() == b"\x00" * 1000
    assert knot.download_artifact(run.run_id, "docs/notes.txt", out).read_text() == "hello"
    with pytest.raises(NotFound, match=r"has no artifact 'nope'.*meta.json"):
        knot.download_artifact(run.run_id, "nope", out)


def test_git_commit_and_dirty_flag_are_captured(knot_home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text("import knot\nwith knot.start_run() as r:\n    print(r.run_id)\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    def run_script() -> knot.Run:
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True
        )
        return knot.get_run(out.stdout.strip())

    clean = run_script()
    assert clean.source.git_commit == commit and clean.source.git_dirty is False
    assert clean.source.command is not None and "train.py" in clean.source.command
    script.write_text(script.read_text() + "# edited\n")
    assert run_script().source.git_dirty is True


def test_public_surface_is_sorted_and_resolves() -> None:
    assert knot.__all__ == sorted(knot.__all__)
    for name in knot.__all__:
        assert getattr(knot, name) is not None
    with pytest.raises(AttributeError):
        knot.no_such_thing  # noqa: B018
