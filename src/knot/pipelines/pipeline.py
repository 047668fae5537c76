"""Pipelines: a function marked `@knot.pipeline` that calls steps; its DAG is what the
steps' inputs and outputs imply.

    @knot.pipeline
    def churn(min_age: int = 18):
        raw = load()
        return train(clean(raw, min_age))

    result = churn(min_age=21)                      # in this process
    result = churn.run(min_age=21, executor="process")
    result.output, [s.status for s in result.steps]  # "ran" or "cached" per step

Calling a pipeline traces its body once (step calls return handles; nothing runs),
then an executor runs the graph. A bad body, bad parameters or an unknown executor
raise before anything is recorded. Called inside another pipeline's body, a pipeline
adds its steps to the outer one and returns its handles.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, overload

from knot.errors import Invalid, KnotError
from knot.pipelines.graph import Trace, current_trace, map_handles, tracing
from knot.pipelines.result import PipelineResult
from knot.tracking import validate

if TYPE_CHECKING:
    from rich.progress import Progress


__all__ = ["Pipeline", "get_pipeline_run", "pipeline"]


class Pipeline:
    """A traced, cached, tracked workflow of steps."""

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, experiment: str | None = None
    ) -> None:
        if not callable(fn) or not hasattr(fn, "__code__"):
            raise Invalid(
                f"@knot.pipeline needs a plain Python function, got {type(fn).__name__}",
                field="fn",
            )
        self.fn = fn
        self.name = validate.check_name(name or fn.__name__, "pipeline")
        self.experiment = experiment or self.name
        self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__module__ = fn.__module__
        self.__qualname__ = fn.__qualname__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<knot.pipeline {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
        """Run in this process and return a PipelineResult (inside another pipeline's
        body: add this pipeline's steps there and return what its body returns)."""
        if current_trace() is not None:
            return self.fn(*args, **params)
        return self.run(*args, **params)

    def trace(self, *args: Any, **params: Any) -> tuple[Trace, Any, dict[str, Any]]:
        """Run the body with step calls recorded: (graph, returned handles, parameters)."""
        try:
            bound = self.signature.bind(*args, **params)
        except TypeError as exc:
            raise Invalid(
                f"pipeline {self.name!r} takes {self.signature}, and {exc}; pass its "
                "parameters by name (knot pipeline run ... --param NAME=VALUE)",
                field="params",
            ) from None
        bound.apply_defaults()
        with tracing(self.name) as graph:
            try:
                output = self.fn(*bound.args, **bound.kwargs)
            except KnotError:
                raise
            except Exception as exc:
                raise Invalid(
                    f"the body of pipeline {self.name!r} raised {type(exc).__name__}: {exc} "
                    "while it was traced (no step has run); fix the pipeline function",
                    field="pipeline",
                ) from exc
        if not graph.nodes:
            raise Invalid(
                f"pipeline {self.name!r} called no @knot.step; mark the functions its body "
                "calls with @knot.step",
                field="pipeline",
            )
        return graph, output, dict(bound.arguments)

    def run(
        self,
        *args: Any,
        executor: str = "inprocess",
        ray_address: str | None = None,
        max_workers: int | None = None,
        no_cache: bool = False,
        resume: str | None = None,
        progress: bool = False,
        **params: Any,
    ) -> PipelineResult:
        """Trace the body with `params`, then run its steps.

        Args:
            executor: "inprocess" (default), "process" (a local process pool: independent
                steps in parallel) or "ray".
            ray_address: the Ray cluster to use (host:port); default RAY_ADDRESS or a
                local Ray started for this run.
            max_workers: at most this many steps at once (process and Ray).
            no_cache: run every step, even with an intact cached output (the new
                outputs replace the cache entries).
            resume: the run id of an earlier execution of this pipeline whose finished
                steps are reused when their cache key is unchanged, even with no_cache.
            progress: show a Rich progress bar.

        Raises:
            PipelineFailed: a step failed after its retries (`.result` has the rest).
        """
        from knot.pipelines.executors import open_executor
        from knot.pipelines.runner import Execution
        from knot.pipelines.stores import records_of
        from knot.tracking.fluent import session

        graph, output, bound = self.trace(*args, **params)
        _check_parameters(graph)
        s = session()
        records = records_of(s)
        reusable = {}
        if resume is not None:
            previous = records.load_execution(resume)
            if previous.pipeline != self.name:
                raise Invalid(
                    f"run {resume} is an execution of pipeline {previous.pipeline!r}, "
                    f"not {self.name!r}; resume a run of this pipeline",
                    field="resume",
                )
            reusable = records.finished_steps(resume)
        runner = open_executor(executor, ray_address=ray_address, max_workers=max_workers)
        try:
            for node in graph.nodes:
                runner.check(node.step)
            with _progress(progress) as bar:
                return Execution(
                    pipeline=self.name,
                    experiment=self.experiment,
                    trace=graph,
                    output=output,
                    params=bound,
                    session=s,
                    records=records,
                    executor=runner,
                    no_cache=no_cache,
                    resume=resume,
                    reusable=reusable,
                    progress=bar,
                ).run()
        finally:
            runner.close()


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...


@overload
def pipeline(
    *, name: str | None = None, experiment: str | None = None
) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    experiment: str | None = None,
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Mark a function as a pipeline: `@knot.pipeline` or `@knot.pipeline(name="churn")`.

    Its runs go to the experiment `experiment` (default: the pipeline's name), each
    tagged knot.pipeline=<name>.
    """

    def mark(function: Callable[..., Any]) -> Pipeline:
        return Pipeline(function, name=name, experiment=experiment)

    return mark(fn) if fn is not None else mark


def get_pipeline_run(run_id: str) -> PipelineResult:
    """What an execution did, step by step (its output value is not loaded)."""
    from knot.pipelines.stores import records_of
    from knot.tracking.fluent import session

    return records_of(session()).load_execution(run_id)


def _check_parameters(graph: Trace) -> None:
    """Fingerprint every parameter now, so one that cannot be keyed fails before any run."""
    from knot.pipelines import cache
    from knot.pipelines.values import StoredValue

    placeholder = StoredValue("sha256:" + "0" * 64, "pickle")
    for node in graph.nodes:
        bound = node.step.signature.bind(
            *map_handles(node.args, lambda h: placeholder),
            **map_handles(node.kwargs, lambda h: placeholder),
        )
        for name, value in bound.arguments.items():
            cache.canonical(value, f"{node.key}.{name}")


def _progress(show: bool) -> AbstractContextManager[Progress | None]:
    if not show:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
