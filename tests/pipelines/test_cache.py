"""The step cache: hits and misses when code, parameters or data change, per-step opt-out,
no_cache, corrupted outputs, and the runs and lineage every execution records."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import knot
from knot.pipelines.cache import CacheWarning
from tests.backends import StoreBackend

CALLS: list[str] = []
ADULTS = 548  # of the people.csv below: ages 18 and up
OVER_20 = 507


@knot.step(cache=False)
def read_csv(path: str) -> pd.DataFrame:
    CALLS.append("read_csv")
    return pd.read_csv(path)


@knot.step
def clean(frame: pd.DataFrame, min_age: int = 18) -> pd.DataFrame:
    CALLS.append("clean")
    return frame[frame.age >= min_age].reset_index(drop=True)


@knot.step
def features(frame: pd.DataFrame) -> np.ndarray:
    CALLS.append("features")
    knot.log_metric("rows", len(frame))
    return frame[["age"]].to_numpy(dtype=float)


@knot.step
def count(matrix: np.ndarray) -> int:
    CALLS.append("count")
    return int(matrix.shape[0])


@knot.pipeline
def adults(path: str, min_age: int = 18) -> object:
    return count(features(clean(read_csv(path), min_age=min_age)))


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    # enough rows that the frames and the array are blobs (over the inline limit), so
    # the tests below can damage and delete them; the count is inline
    ages = [i % 60 for i in range(800)]
    pd.DataFrame({"age": ages, "name": [f"person{i}" for i in range(800)]}).to_csv(
        path, index=False
    )
    CALLS.clear()
    return path


@pytest.fixture
def store(store_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """KNOT_STORE on SQLite, a fresh PostgreSQL database or the live server: executions
    and cache entries go through the store; the step outputs to its artifact store."""
    store_backend.use(monkeypatch)
    return store_backend.name


def statuses(result: knot.PipelineResult) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def test_an_unchanged_pipeline_comes_from_the_cache(store: str, csv: Path) -> None:
    first = adults(str(csv))
    assert first.output == ADULTS
    assert statuses(first) == dict.fromkeys(["read_csv", "clean", "features", "count"], "ran")
    CALLS.clear()
    second = adults(str(csv))
    assert second.output == ADULTS
    # read_csv opted out, so it runs; its output has the same digest, so the rest is cached
    assert statuses(second) == {
        "read_csv": "ran",
        "clean": "cached",
        "features": "cached",
        "count": "cached",
    }
    assert CALLS == ["read_csv"]
    assert second["clean"].from_run == first["clean"].run_id
    assert second["clean"].cache_key == first["clean"].cache_key
    recorded = knot.get_pipeline_run(second.run_id)
    assert [s.status for s in recorded.steps] == ["ran", "cached", "cached", "cached"]
    assert recorded["clean"].from_run == first["clean"].run_id


def test_a_changed_parameter_misses_from_that_step_on(store: str, csv: Path) -> None:
    adults(str(csv))
    result = adults(str(csv), min_age=21)
    assert result.output == OVER_20
    assert statuses(result) == dict.fromkeys(["read_csv", "clean", "features", "count"], "ran")
    # back to the first value: every entry is still there
    assert adults(str(csv)).cached == ["clean", "features", "count"]


def test_changed_data_misses_downstream(knot_home: Path, csv: Path) -> None:
    adults(str(csv))
    pd.DataFrame({"age": [50, 60], "name": ["x", "y"]}).to_csv(csv, index=False)
    result = adults(str(csv))
    assert result.output == 2
    assert result.cached == []


def test_no_cache_runs_everything_and_refreshes_the_entries(store: str, csv: Path) -> None:
    first = adults(str(csv))
    CALLS.clear()
    forced = adults.run(str(csv), no_cache=True)
    assert forced.cached == []
    assert CALLS == ["read_csv", "clean", "features", "count"]
    again = adults(str(csv))
    assert again["count"].from_run == forced["count"].run_id != first["count"].run_id


def test_a_corrupted_cached_output_is_a_miss_with_a_warning(knot_home: Path, csv: Path) -> None:
    first = adults(str(csv))
    digest = first["features"].output_digest
    assert digest is not None
    blob = knot_home / "artifacts" / "blobs" / "sha256" / digest[7:9] / digest[7:]
    blob.write_bytes(b"not the array")
    with pytest.warns(CacheWarning, match="corrupted"):
        second = adults(str(csv))
    assert second["features"].status == "ran"
    assert second["count"].status == "cached"  # the fresh output has the same digest
    assert second.output == ADULTS
    assert blob.read_bytes() != b"not the array"  # stored whole again


@pytest.mark.server
def test_a_corrupted_cached_output_on_a_server_is_stored_again(
    remote_backend: StoreBackend, knot_home: Path, csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a server, with no artifact store of the client's own: the damaged blob is
    dropped by the server (DELETE drops only damaged ones) and the fresh output is sent."""
    remote_backend.use(monkeypatch)
    first = adults(str(csv))
    digest = first["features"].output_digest or ""
    server_root = Path(remote_backend.artifacts_uri.removeprefix("file://"))
    blob = server_root / "blobs" / "sha256" / digest[7:9] / digest[7:]
    whole = blob.read_bytes()
    blob.write_bytes(b"not the array")
    with pytest.warns(CacheWarning, match="corrupted"):
        second = adults(str(csv))
    assert second["features"].status == "ran"
    assert second["count"].status == "cached"
    assert blob.read_bytes() == whole
    assert not (knot_home / "artifacts").exists()


def test_a_missing_cached_output_is_a_miss_with_a_warning(knot_home: Path, csv: Path) -> None:
    first = adults(str(csv))
    digest = first["clean"].output_digest or ""
    (knot_home / "artifacts" / "blobs" / "sha256" / digest[7:9] / digest[7:]).unlink()
    with pytest.warns(CacheWarning, match="missing"):
        second = adults(str(csv))
    assert second["clean"].status == "ran"
    assert second.output == ADULTS


def _module(path: Path, body: str) -> ModuleType:
    path.write_text(textwrap.dedent(body))
    spec = importlib.util.spec_from_file_location("knot_test_changing_steps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


STEPS = """
import knot

@knot.step
def scale(x: int) -> int:
    return x * {factor}  # {comment}

@knot.step
def shift(y: int) -> int:
    return y + 1

@knot.pipeline
def scaled(x: int = 2):
    return shift(scale(x))
"""


def test_a_code_change_misses_and_a_comment_does_not(knot_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "changing_steps.py"
    try:
        first = _module(path, STEPS.format(factor=10, comment="first")).scaled()
        assert first.output == 21
        reformatted = _module(path, STEPS.format(factor=10, comment="only a comment")).scaled()
        assert reformatted.cached == ["scale", "shift"]
        changed = _module(path, STEPS.format(factor=3, comment="x3")).scaled()
        assert changed.output == 7
        assert changed.ran == ["scale", "shift"]
    finally:
        sys.modules.pop("knot_test_changing_steps", None)


def test_every_execution_is_a_run_with_a_child_run_per_step(store: str, csv: Path) -> None:
    result = adults(str(csv), min_age=21)
    root = knot.get_run(result.run_id)
    assert root.tags["knot.pipeline"] == "adults"
    assert root.params["min_age"] == "21"
    step_run = knot.get_run(result["features"].run_id or "")
    assert step_run.parent_run_id == result.run_id
    assert step_run.tags["knot.cache"] == "miss"
    assert step_run.tags["knot.output_digest"] == result["features"].output_digest
    assert step_run.metrics["rows"].latest == OVER_20  # logged inside the step, on its run
    assert knot.get_run(result["clean"].run_id or "").params["min_age"] == "21"
    cached = adults(str(csv), min_age=21)
    assert knot.get_run(cached["clean"].run_id or "").tags["knot.cache"] == "hit"


def test_lineage_links_inputs_step_runs_and_outputs(store: str, csv: Path) -> None:
    result = adults(str(csv))
    clean_run = result["clean"].run_id
    graph = knot.lineage(f"run:{clean_run}", direction="both", depth=1)
    edges = {(e.source, e.relation, e.target) for e in graph.edges}
    assert (f"artifact:{result['read_csv'].output_digest}", "input", f"run:{clean_run}") in edges
    assert (f"run:{clean_run}", "output", f"artifact:{result['clean'].output_digest}") in edges
    assert (f"run:{result.run_id}", "step", f"run:{clean_run}") in edges
    upstream = knot.lineage(f"artifact:{result['count'].output_digest}", direction="up", depth=10)
    assert f"run:{result['read_csv'].run_id}" in {n.key for n in upstream.nodes}


def test_outputs_keep_their_types(knot_home: Path) -> None:
    import pyarrow as pa

    @knot.step
    def make() -> dict:
        return {
            "frame": pd.DataFrame({"a": [1, 2]}, index=[5, 6]),
            "table": pa.table({"b": [1.5]}),
            "array": np.arange(3),
        }

    @knot.step
    def frame_of(parts: dict) -> pd.DataFrame:
        return parts["frame"]

    @knot.step
    def table_of(parts: dict) -> pa.Table:
        return parts["table"]

    @knot.pipeline
    def typed() -> object:
        parts = make()
        return {"frame": frame_of(parts), "table": table_of(parts), "parts": parts}

    out = typed().output
    pd.testing.assert_frame_equal(out["frame"], pd.DataFrame({"a": [1, 2]}, index=[5, 6]))
    assert isinstance(out["table"], pa.Table) and out["table"].column("b").to_pylist() == [1.5]
    assert out["parts"]["array"].tolist() == [0, 1, 2]
    kinds = {s.name: s.output_kind for s in typed().steps}
    assert kinds == {"make": "pickle", "frame_of": "parquet", "table_of": "parquet"}


@knot.step
def double(x: int) -> int:
    return 2 * x


@knot.step
def through_gate(y: int, gate: str) -> int:
    if not Path(gate).exists():
        raise RuntimeError("the gate is closed")
    return y + 1


@knot.pipeline
def gated(gate: str) -> object:
    return through_gate(double(3), gate)


def test_resume_reuses_the_finished_steps_of_a_failed_execution(store: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with pytest.raises(knot.PipelineFailed) as failed:
        gated(str(gate))
    first = failed.value.result
    assert statuses(first) == {"double": "ran", "through_gate": "failed"}
    assert knot.get_pipeline_run(first.run_id).status == "failed"
    gate.touch()
    resumed = gated.run(str(gate), no_cache=True, resume=first.run_id)
    assert resumed.output == 7
    assert statuses(resumed) == {"double": "cached", "through_gate": "ran"}
    assert resumed["double"].from_run == first["double"].run_id
