"""Bad input gets a clear error naming what was wrong, and records nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.errors import Invalid, NotFound, Unavailable
from knot.pipelines.graph import Handle

runner = CliRunner()


@knot.step
def numbers(n: int = 3) -> list[int]:
    return list(range(n))


@knot.step
def total(values: list[int]) -> int:
    return sum(values)


@knot.step
def boom(values: list[int]) -> int:
    raise ValueError(f"cannot add {len(values)} values")


@knot.step
def unstorable(values: list[int]) -> Any:
    return threading.Lock()


@knot.pipeline
def summed(n: int = 3) -> Any:
    return total(numbers(n))


@knot.pipeline
def exploding() -> Any:
    values = numbers()
    return total([boom(values), total(values)])


def no_runs() -> bool:
    return knot.get_experiment_by_name("summed") is None


@pytest.mark.parametrize(
    ("use", "words"),
    [
        (len, "cannot take the length"),
        (bool, "cannot test the truth"),
        (lambda h: h.shape, "cannot read attribute 'shape'"),
        (lambda h: f"{h}", "cannot format"),
        (lambda h: h + 1, "cannot compute with"),
        (lambda h: h["a"], "cannot index"),
        (lambda h: list(h), "cannot iterate"),
        (lambda h: {h}, "cannot hash"),
        (lambda h: h == 1, "cannot compare"),
    ],
)
def test_plain_code_using_a_handle_is_refused(knot_home: Path, use: Any, words: str) -> None:
    @knot.pipeline(name="summed")
    def misuse() -> Any:
        return total(use(numbers()))

    with pytest.raises(Invalid, match=words) as caught:
        misuse()
    assert "output of step 'numbers'" in caught.value.message
    assert "@knot.step" in caught.value.message
    assert no_runs()


def test_a_body_that_raises_says_so_and_runs_nothing(knot_home: Path) -> None:
    @knot.pipeline(name="summed")
    def broken() -> Any:
        numbers()
        return 1 / 0

    with pytest.raises(Invalid, match="body of pipeline 'summed' raised ZeroDivisionError"):
        broken()
    assert no_runs()


def test_a_leaked_handle_is_refused_outside_its_pipeline(knot_home: Path) -> None:
    leaked: list[Handle] = []

    @knot.pipeline
    def leaks() -> Any:
        leaked.append(numbers())
        return leaked[0]

    @knot.pipeline
    def uses_leak() -> Any:
        return total(leaked[0])

    leaks()
    with pytest.raises(Invalid, match="called outside a pipeline"):
        total(leaked[0])
    with pytest.raises(Invalid, match="from another pipeline"):
        uses_leak()


def test_a_step_called_outside_a_pipeline_is_the_plain_function() -> None:
    assert total(numbers(4)) == 6


def test_an_unstorable_output_fails_the_pipeline_naming_the_step(knot_home: Path) -> None:
    @knot.pipeline
    def keeps_a_lock() -> Any:
        return unstorable(numbers())

    with pytest.raises(knot.PipelineFailed, match="step 'unstorable'") as caught:
        keeps_a_lock()
    assert "_thread.lock" in caught.value.message and "cannot be stored" in caught.value.message
    assert caught.value.result["unstorable"].attempts == 1


def test_a_failing_step_fails_the_pipeline_and_skips_what_needs_it(knot_home: Path) -> None:
    with pytest.raises(knot.PipelineFailed) as caught:
        exploding()
    message = caught.value.message
    assert "step 'boom' raised ValueError: cannot add 3 values" in message
    assert f"resume={caught.value.result.run_id!r}" in message
    steps = {s.name: s.status for s in caught.value.result.steps}
    # in-process, steps run in recording order and none starts after a failure
    assert steps == {"numbers": "ran", "boom": "failed", "total": "skipped", "total-2": "skipped"}
    assert knot.get_run(caught.value.result.run_id).status == knot.RunStatus.FAILED
    failed_run = knot.get_run(caught.value.result["boom"].run_id or "")
    assert failed_run.status == knot.RunStatus.FAILED
    assert "ValueError" in failed_run.tags["knot.error"]
    assert knot.get_pipeline_run(caught.value.result.run_id).status == "failed"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"executor": "spark"}, "unknown executor 'spark'; use one of inprocess, process, ray"),
        ({"ray_address": "127.0.0.1:1"}, "with executor 'inprocess'"),
        ({"max_workers": 0}, "max_workers must be >= 1"),
        ({"resume": "not-a-run"}, "run id 'not-a-run' is malformed"),
        ({"m": 3}, "pipeline 'summed' takes"),
        ({"n": threading.Lock()}, "parameter 'numbers.n'"),
    ],
)
def test_bad_options_change_nothing(knot_home: Path, options: dict, words: str) -> None:
    with pytest.raises(Invalid, match=words):
        summed.run(**options)
    assert no_runs()


def test_resume_needs_an_execution_of_the_same_pipeline(knot_home: Path) -> None:
    with pytest.raises(NotFound, match="no pipeline execution has run id"):
        summed.run(resume="0" * 32)
    first = summed()
    with pytest.raises(Invalid, match="is an execution of pipeline 'summed', not 'exploding'"):
        exploding.run(resume=first.run_id)


def test_wrong_step_arguments_are_refused_while_tracing(knot_home: Path) -> None:
    @knot.pipeline(name="summed")
    def wrong() -> Any:
        return total(numbers(), 3)

    with pytest.raises(Invalid, match="step 'total' in pipeline 'summed' was called with"):
        wrong()
    assert no_runs()


def test_a_local_step_is_refused_by_the_process_executor(knot_home: Path) -> None:
    @knot.step
    def inner(n: int) -> int:
        return n

    @knot.pipeline(name="summed")
    def local() -> Any:
        return inner(1)

    with pytest.raises(Invalid, match="defined inside a function"):
        local.run(executor="process")
    assert no_runs()


def test_a_body_without_steps_and_bad_decorations_are_refused(knot_home: Path) -> None:
    @knot.pipeline
    def empty() -> int:
        return 1

    with pytest.raises(Invalid, match=r"called no @knot\.step"):
        empty()
    with pytest.raises(Invalid, match="plain Python function"):
        knot.step(42)  # type: ignore[call-overload]
    with pytest.raises(Invalid, match="retries must be"):
        knot.step(retries=-1)(lambda: 1)


def test_a_knot_server_that_does_not_answer_is_named(
    knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOT_STORE", "http://127.0.0.1:9")
    with pytest.raises(Unavailable, match=r"cannot reach the Knot server at http://127\.0\.0\.1:9"):
        summed()


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("no-colon", "is malformed"),
        ("no_such_module_here:main", "cannot import module 'no_such_module_here'"),
        ("tests.pipelines.test_errors:missing", "has no 'missing'"),
        ("tests.pipelines.test_errors:total", "is a Step, not a @knot.pipeline"),
        ("missing/file.py:main", "does not exist"),
    ],
)
def test_cli_names_a_bad_target(knot_home: Path, target: str, words: str) -> None:
    result = runner.invoke(app, ["pipeline", "run", target])
    assert result.exit_code != 0
    assert words in str(result.exception)


@pytest.mark.parametrize(
    ("param", "words"),
    [("n", "write NAME=VALUE"), ("size=3", "has no parameter 'size'; its parameters: n")],
)
def test_cli_names_a_bad_param(knot_home: Path, param: str, words: str) -> None:
    target = "tests.pipelines.test_errors:summed"
    result = runner.invoke(app, ["pipeline", "run", target, "--param", param])
    assert words in str(result.exception)
    assert no_runs()
