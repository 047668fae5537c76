"""The process pool runs independent steps at the same time; retries and resume work on
every executor."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import knot


def _wait_for(path: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared: the other step did not run alongside")
        time.sleep(0.02)


@knot.step
def meet(folder: str, me: str, other: str) -> dict[str, Any]:
    """Start, then wait until the other step has started too (only possible in parallel)."""
    started = time.time()
    Path(folder, f"{me}.started").touch()
    _wait_for(Path(folder, f"{other}.started"))
    return {"start": started, "end": time.time(), "pid": os.getpid()}


@knot.step
def pair(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [a, b]


@knot.pipeline
def rendezvous(folder: str) -> Any:
    return pair(meet(folder, "a", "b"), meet(folder, "b", "a"))


def test_independent_steps_run_in_parallel_processes(knot_home: Path, tmp_path: Path) -> None:
    result = rendezvous.run(str(tmp_path), executor="process", max_workers=2)
    a, b = result.output
    assert a["start"] < b["end"] and b["start"] < a["end"]  # the two intervals overlap
    assert a["pid"] != b["pid"] and os.getpid() not in (a["pid"], b["pid"])
    assert result.ran == ["meet", "meet-2", "pair"]
    cached = rendezvous.run(str(tmp_path), executor="process", max_workers=2)
    assert cached.cached == ["meet", "meet-2", "pair"]
    assert cached.output == result.output


@knot.step(retries=2, retry_delay=0.01)
def flaky(folder: str) -> str:
    """Fails on its first attempt, then succeeds; logs on its run from any worker."""
    knot.log_metric("attempt_seen", 1)
    marker = Path(folder, "failed-once")
    if not marker.exists():
        marker.touch()
        raise ConnectionError("the database blinked")
    return "ok"


@knot.step(retries=1)
def hopeless(folder: str) -> str:
    raise RuntimeError(f"nothing works in {Path(folder).name}")


@knot.pipeline
def retried(folder: str) -> Any:
    return flaky(folder)


@knot.pipeline
def never(folder: str) -> Any:
    return hopeless(folder)


@pytest.mark.parametrize("executor", ["inprocess", "process"])
def test_a_failed_attempt_is_retried(knot_home: Path, tmp_path: Path, executor: str) -> None:
    result = retried.run(str(tmp_path), executor=executor)
    assert result.output == "ok"
    assert result["flaky"].attempts == 2
    run = knot.get_run(result["flaky"].run_id or "")
    assert run.tags["knot.attempts"] == "2"
    assert run.tags["knot.retry.1"] == "ConnectionError: the database blinked"
    assert run.metrics["attempt_seen"].count == 2
    assert run.status == knot.RunStatus.FINISHED


def test_retries_run_out_with_the_last_error(knot_home: Path, tmp_path: Path) -> None:
    with pytest.raises(knot.PipelineFailed, match=r"RuntimeError: nothing works .*2 attempts"):
        never(str(tmp_path))


@knot.step
def extract(n: int) -> list[int]:
    with Path(os.environ["KNOT_TEST_CALLS"]).open("a") as calls:
        calls.write("extract\n")
    return list(range(n))


@knot.step(cache=False)
def transform(values: list[int], folder: str) -> list[int]:
    if Path(folder, "broken").exists():
        raise OSError("disk full")
    return [v * 2 for v in values]


@knot.step
def load(values: list[int]) -> int:
    return sum(values)


@knot.pipeline
def etl(folder: str, n: int = 4) -> Any:
    return load(transform(extract(n), folder))


@pytest.mark.parametrize("executor", ["inprocess", "process"])
def test_resume_reuses_finished_steps_with_caching_off(
    knot_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executor: str
) -> None:
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("KNOT_TEST_CALLS", str(calls))
    (tmp_path / "broken").touch()
    with pytest.raises(
        knot.PipelineFailed, match="step 'transform' raised OSError: disk full"
    ) as e:
        etl.run(str(tmp_path), executor=executor)
    failed = knot.get_pipeline_run(e.value.result.run_id)
    assert [s.status for s in failed.steps] == ["ran", "failed", "skipped"]
    (tmp_path / "broken").unlink()
    resumed = etl.run(str(tmp_path), executor=executor, no_cache=True, resume=failed.run_id)
    assert resumed.output == 12
    assert [s.status for s in resumed.steps] == ["cached", "ran", "ran"]
    assert resumed["extract"].from_run == failed["extract"].run_id
    assert calls.read_text() == "extract\n"  # extract ran once, in the failed execution
    assert knot.get_run(resumed.run_id).tags["knot.resumed_from"] == failed.run_id
    assert knot.get_run(resumed["extract"].run_id or "").tags["knot.cache"] == "resume"
    # resuming with another parameter reuses nothing: the keys differ
    other = etl.run(str(tmp_path), n=5, executor=executor, no_cache=True, resume=failed.run_id)
    assert other.cached == []
