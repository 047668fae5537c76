"""`knot pipeline run/show`: run a @knot.pipeline from the command line, see what it did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from knot.cli._output import print_json, say_store

app = typer.Typer(help="Pipelines: cached, tracked workflows of steps.", no_args_is_help=True)


@app.command("run")
def run(
    target: str = typer.Argument(..., help="module:function or path/to/file.py:function"),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="NAME=VALUE (repeatable); VALUE is JSON or text."
    ),
    executor: str = typer.Option("inprocess", "--executor", "-x", help="inprocess|process|ray"),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster host:port."),
    max_workers: int = typer.Option(None, "--max-workers", help="Steps at once (process/ray)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step again."),
    resume: str = typer.Option(None, "--resume", help="Reuse finished steps of this run id."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run a pipeline; prints, per step, whether it ran or came from the cache."""
    from rich.console import Console

    from knot.pipelines.loading import load_pipeline, parse_params
    from knot.pipelines.result import PipelineFailed

    pipeline = load_pipeline(target)
    params = parse_params(pipeline, param or [])
    console = Console()
    if not json_out:
        say_store()
    try:
        result = pipeline.run(
            executor=executor,
            ray_address=ray_address,
            max_workers=max_workers,
            no_cache=no_cache,
            resume=resume,
            progress=not json_out,
            **params,
        )
    except PipelineFailed as exc:
        if not json_out:
            console.print(exc.result)
        raise
    if json_out:
        print_json(_as_dict(result) | {"output": _jsonable(result.output)})
        return
    console.print(result)
    if result.output is not None:
        console.print(f"output: {_short(result.output)}")


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help="The pipeline's run id or a unique prefix of it."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    html: Path = typer.Option(None, "--html", help="Also draw the steps' timeline here."),
) -> None:
    """Show what one pipeline execution did: each step's status and whether it was cached."""
    from rich.console import Console

    import knot
    from knot.pipelines.pipeline import get_pipeline_run

    result = get_pipeline_run(knot.resolve_run_id(run_id))
    if html is not None:
        from knot.pipelines.html import pipeline_page

        pipeline_page(result).write_html(html)
        typer.echo(f"wrote {html}", err=True)
    if json_out:
        print_json(_as_dict(result))
        return
    Console().print(result)


def _as_dict(result: Any) -> dict[str, Any]:
    import dataclasses

    return {
        "pipeline": result.pipeline,
        "run_id": result.run_id,
        "status": result.status,
        "executor": result.executor,
        "steps": [dataclasses.asdict(s) for s in result.steps],
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _short(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"
